"""pypictl page indexer: static PEP 503 pages for the proxy, kept fresh.

Runs in the task's `indexer` container (the pypiserver image: its Python and
its own pypiserver modules, so which files are listed, their project names,
versions and order are pypiserver's; the pages are this program's).

What is listed comes from two sources. Every INDEX_INTERVAL_SECONDS it
reads what was appended to the change log (CHANGES: `+ <file>` / `- <file>`,
written by pypiserver, on any instance, once a file and its record are in
place): an upload is listed at once, with the size and mtime a stat by name
finds. Every INDEX_WALK_SECONDS it walks PACKAGES_DIR (pypiserver's rules: no
dot paths, regular files) for what the log does not say: a file found that
way (copied in by other means, maybe half-written) is listed once two walks,
the second one an interval after the first, saw it with the same size and
mtime. A walk's listing may be up to a minute old on NFS (directory
attribute caching); the change log is read fresh, since opening a file
revalidates it (close-to-open), so for INDEX_LOGGED_CHANGE_SECONDS what the
log said about a file wins over what a walk lists.

Only when the listed files changed, it updates its one tree of pages,
PAGES_DIR/trees/current/simple/ (the root index and
<normalized-name>/index.html, PEP 503 HTML with sha256 hashes,
Requires-Python and PEP 658 metadata, and beside each its PEP 691 JSON form,
index.json), in place: only the pages of the projects that changed, each
written to a temporary name beside it and renamed over it (atomic per
page), the root index last. The space it takes is one tree plus one page;
a write that fails (a full volume) removes its temporary file and is
retried on the next round.

Publishing is a lease: nginx serves PAGES_DIR/live-<epoch second>/..., and
this process keeps a symlink live-<s> -> trees/current for the current
second and the next INDEX_LEASE_SECONDS, refreshed every quarter second,
only while its last completed round (the change log read, the pages it
owes written) is that recent. If it stops, hangs, falls behind (a slow file
system) or cannot write, the links run out within the lease and nginx
answers from pypiserver again: a static page is never more than interval +
lease behind the change log.

Digests (sha256, pypiserver's default), Requires-Python and the METADATA
announced are those pypiserver recorded in DIGESTS when it stored each file
(once for the whole service); a file without a record is hashed here, once
per (file, size, mtime), and listed without metadata. Errors are logged and
retried on the next round.
"""
import hashlib
import html
import json
import os
import re
import shutil
import stat
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from pypiserver.backend import valid_packages
from pypiserver.pkg_helpers import is_listed_path

PACKAGES = Path(os.environ["PACKAGES_DIR"]).resolve()
PAGES = Path(os.environ["PAGES_DIR"])
INTERVAL = float(os.environ.get("INDEX_INTERVAL_SECONDS", "1"))
WALK = float(os.environ.get("INDEX_WALK_SECONDS", "60"))
LOGGED = float(os.environ.get("INDEX_LOGGED_CHANGE_SECONDS", "180"))
LEASE = int(os.environ.get("INDEX_LEASE_SECONDS", "3"))
# The project names nginx looks up statically (its location regex is the
# same); any other name goes to pypiserver, which redirects or answers.
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")

def log(msg):
    print(f"indexer: {msg}", file=sys.stderr, flush=True)


def scan():
    """Listed files (pypiserver's rules: no dot paths, regular files) ->
    (size, mtime_ns)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(PACKAGES):
        dirnames[:] = [d for d in dirnames if is_listed_path(d)]
        for name in filenames:
            if not is_listed_path(name):
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                found[path] = (st.st_size, st.st_mtime_ns)
    return found


DIGESTS = PACKAGES / os.environ["DIGESTS"]
CHANGES = PACKAGES / os.environ["CHANGES"]


def digest_of(path, size):
    """What the page says about a file: (sha256 hex, its METADATA's sha256
    hex or None, Requires-Python or None), and whether this process hashed
    the file. pypiserver recorded them when it stored the file, if the
    record's size matches; else the file is hashed here (and listed without
    metadata)."""
    try:
        fields = (DIGESTS / (os.path.relpath(path, PACKAGES) + ".sha256")).read_text().split()
        recorded, hexdigest = int(fields[0]), fields[1]
        metadata, python = (fields[2:4] + ["-", "-"])[:2]
        if recorded == size and len(hexdigest) == 64:
            return (hexdigest, None if metadata == "-" else metadata, None if python == "-" else urllib.parse.unquote(python)), False
    except (OSError, ValueError, IndexError):
        pass
    return (sha256(path), None, None), True


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def projects(files, digests):
    """{normalized name: the page's links}, each link (file name, URL,
    sha256, METADATA's sha256 or None, Requires-Python or None), in
    pypiserver's order (version, then file name)."""
    found = {}
    for pkg in valid_packages(PACKAGES, [Path(p) for p in sorted(files)]):
        found.setdefault(pkg.pkgname_norm, []).append(pkg)
    out = {}
    for name, pkgs in found.items():
        pkgs.sort(key=lambda x: (x.parsed_version, x.relfn))
        out[name] = tuple((os.path.basename(p.relfn), f"/packages/{p.relfn_unix}", *digests[p.fn][1]) for p in pkgs)
    return out


TREE = PAGES / "trees" / "current" / "simple"


def write_page(rel, body):
    """Writes one page atomically: a temporary name beside it, renamed over
    it; the temporary file never outlives a failed write."""
    path = TREE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(body)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def update(published, wanted):
    """Brings the tree from `published` (what is on it: {name: links}, and
    under None the names the root index lists) to `wanted`: the pages of
    projects gone first (freeing their space; their names go to pypiserver,
    which answers 404), then changed project pages, the root index last (a
    name it lists before its page exists goes to pypiserver too). Updates
    `published` page by page, so a failure leaves it true and the next scan
    retries what is left."""
    for name in set(published) - set(wanted) - {None}:
        shutil.rmtree(TREE / name, ignore_errors=True)
        del published[name]
    for name, links in wanted.items():
        if published.get(name) != links:
            if NAME.match(name):
                write_page(f"{name}/index.json", project_json(name, links))
                write_page(f"{name}/index.html", project_html(name, links))
            published[name] = links
    if published.get(None) != sorted(wanted):
        write_page("index.json", index_json(sorted(wanted)))
        write_page("index.html", index_html(sorted(wanted)))
        published[None] = sorted(wanted)


# The pages, in the two forms of the simple repository API (api-version
# 1.0): PEP 503 HTML, and PEP 691 JSON, which nginx serves to a client that
# accepts application/vnd.pypi.simple.v1+json. A file's link carries its
# sha256, its Requires-Python (PEP 503's data-requires-python) and, when
# its METADATA is served at <URL>.metadata, that file's sha256 (PEP 658 as
# renamed by PEP 714: core-metadata, and dist-info-metadata for clients
# from before PEP 714).
API_VERSION = "1.0"


def page_html(title, anchors):
    head = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n"
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
    )
    return (head + "".join(f"{a}<br>\n" for a in anchors) + "</body>\n</html>\n").encode()


def index_html(names):
    return page_html("Simple Index", (f'<a href="{html.escape(n)}/">{html.escape(n)}</a>' for n in names))


def project_html(name, links):
    def anchor(filename, url, digest, metadata, python):
        attrs = f' href="{html.escape(url)}#sha256={digest}"'
        if python:
            attrs += f' data-requires-python="{html.escape(python)}"'
        if metadata:
            attrs += f' data-core-metadata="sha256={metadata}" data-dist-info-metadata="sha256={metadata}"'
        return f"<a{attrs}>{html.escape(filename)}</a>"

    return page_html(f"Links for {name}", (anchor(*link) for link in links))


def index_json(names):
    return json.dumps({"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}, separators=(",", ":")).encode()


def project_json(name, links):
    files = []
    for filename, url, digest, metadata, python in links:
        entry = {"filename": filename, "url": url, "hashes": {"sha256": digest}}
        if python:
            entry["requires-python"] = python
        if metadata:
            entry["core-metadata"] = entry["dist-info-metadata"] = {"sha256": metadata}
        files.append(entry)
    return json.dumps({"meta": {"api-version": API_VERSION}, "name": name, "files": files}, separators=(",", ":")).encode()


class Publisher:
    def __init__(self):
        self.lock = threading.Lock()
        self.tree = None  # name under trees/
        self.scanned = 0.0  # wall time the last completed scan started

    def publish(self, tree, scanned):
        with self.lock:
            old, self.tree, self.scanned = self.tree, tree, scanned
        self.refresh(repoint=True)
        return old

    def refresh(self, repoint=False):
        with self.lock:
            tree, scanned = self.tree, self.scanned
        now = int(time.time())
        if tree is not None:
            for s in range(now, int(scanned) + LEASE + 1):
                link = PAGES / f"live-{s}"
                if repoint or not os.path.islink(link):
                    tmp = PAGES / f".tmp-live-{s}"
                    try:
                        os.unlink(tmp)
                    except FileNotFoundError:
                        pass
                    os.symlink(f"trees/{tree}", tmp)
                    os.replace(tmp, link)
        for entry in os.scandir(PAGES):
            if entry.name.startswith("live-") and entry.name[5:].isdigit() and int(entry.name[5:]) < now - 1:
                os.unlink(entry.path)

    def run(self):
        while True:
            try:
                self.refresh()
            except Exception as e:  # keep leasing; the next round retries
                log(f"refresh: {e!r}")
            time.sleep(0.25)


class ChangeLog:
    """What was appended to the change log since the last look."""

    def __init__(self):
        self.offset = self.size()

    @staticmethod
    def size():
        try:
            return os.stat(CHANGES).st_size
        except FileNotFoundError:
            return 0

    def read(self):
        """[(op, path)] of the complete lines appended since the last read.
        Each read opens the file anew: the open revalidates what this NFS
        client knows of it (close-to-open), so its new end is seen."""
        try:
            with open(CHANGES, "rb") as f:
                end = os.fstat(f.fileno()).st_size
                if end < self.offset:  # replaced or cut: start again from its end
                    self.offset = end
                    return []
                f.seek(self.offset)
                data = f.read(end - self.offset)
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        out = []
        for line in complete.decode("utf-8", "replace").splitlines():
            op, _, rel = line.partition(" ")
            if op in ("+", "-") and rel:
                out.append((op, os.path.join(PACKAGES, urllib.parse.unquote(rel))))
        return out


def logged_state(path):
    """(size, mtime_ns) of a logged file, by name, or None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


def main():
    (PAGES / "trees").mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(PAGES / "trees"):
        shutil.rmtree(entry.path, ignore_errors=True)
    TREE.mkdir(parents=True)
    publisher = Publisher()
    threading.Thread(target=publisher.run, daemon=True).start()
    changes = ChangeLog()  # its end before the first walk: nothing is missed between them
    walked, stable, next_walk = None, None, 0.0  # the last walk; what walks list as stable
    logged = {}  # path -> (when the log said so, (size, mtime_ns) or None if removed)
    digests, listed, published = {}, None, {}
    while True:
        started = time.time()
        try:
            for op, path in changes.read():
                logged[path] = (started, logged_state(path) if op == "+" else None)
            for path in [p for p, (when, _) in logged.items() if started - when > LOGGED]:
                del logged[path]
            if started >= next_walk:
                current = scan()
                if walked is not None:
                    stable = {p: s for p, s in current.items() if walked.get(p) == s}
                # Again soon while a file found by walking is new or changing.
                settled = walked is not None and len(stable) == len(current)
                walked, next_walk = current, started + (WALK if settled else INTERVAL)
            if stable is None:  # nothing is known stable yet: publish nothing
                continue
            ready = dict(stable)
            for path, (_, state) in logged.items():
                if state is None:
                    ready.pop(path, None)
                else:
                    ready[path] = state
            hashed = 0
            for path, st in ready.items():
                if digests.get(path, (None,))[0] != st:
                    digest, here = digest_of(path, st[0])
                    digests[path] = (st, digest)
                    hashed += here
            for path in set(digests) - set(ready):
                del digests[path]
            if ready != listed:
                # Until every page is written, the lease is not renewed.
                listed = None
                update(published, projects(ready, digests))
                listed = ready
                publisher.publish("current", started)
                log(f"published {len(ready)} files in {time.time() - started:.2f} s ({hashed} hashed here)")
            else:
                with publisher.lock:
                    publisher.scanned = started
        except Exception as e:
            log(f"scan: {e!r}")
        finally:
            time.sleep(max(0.0, INTERVAL - (time.time() - started)))


if __name__ == "__main__":
    main()
