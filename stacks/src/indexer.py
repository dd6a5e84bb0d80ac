"""pypictl page indexer: static PEP 503 pages for the proxy, kept fresh.

Runs in the task's `indexer` container (the pypiserver image: its Python and
its own pypiserver modules, so which files are listed, their project names,
versions and order are pypiserver's; the pages are this program's). Every INDEX_INTERVAL_SECONDS it walks PACKAGES_DIR once (as
pypiserver's simple-dir does on every request) and, only when the listed
files changed, updates its one tree of pages, PAGES_DIR/trees/current/simple/
(the root index and <normalized-name>/index.html, PEP 503 HTML listing
what pypiserver lists, with sha256 hashes, Requires-Python and PEP 658
metadata, and beside each its PEP 691 JSON form, index.json), in place: only the pages of the projects that changed,
each written to a temporary name beside it and renamed over it (atomic per
page), the root index last. The space it takes is one tree plus one page;
a write that fails (a full volume) removes its temporary file and is retried
on the next scan.

Publishing is a lease: nginx serves PAGES_DIR/live-<epoch second>/..., and
this process keeps a symlink live-<s> -> trees/current for the current
second and the next INDEX_LEASE_SECONDS, refreshed every quarter second,
only while its last completed scan is that recent and every page it owes
is written. If it stops, hangs, falls behind (a slow file system) or cannot
write, the links run out within the lease and nginx answers from pypiserver
again (fresh, authoritative): a static page is never older than scan
interval + lease.

A file is listed once two consecutive scans saw it with the same size and
mtime (a file copied in by other means than an upload may be half-written:
never hash it). Digests (sha256, pypiserver's default), Requires-Python and
the METADATA announced are those pypiserver recorded in DIGESTS when it
stored each file (once for the whole service); a file without a record is
hashed here, once per (file, size, mtime), and listed without metadata. Errors are
logged and retried on the next scan.
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


def main():
    (PAGES / "trees").mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(PAGES / "trees"):
        shutil.rmtree(entry.path, ignore_errors=True)
    TREE.mkdir(parents=True)
    publisher = Publisher()
    threading.Thread(target=publisher.run, daemon=True).start()
    previous, digests, listed, published = None, {}, None, {}
    while True:
        started = time.time()
        try:
            current = scan()
            # Listed: seen unchanged by two consecutive scans.
            if previous is None:  # nothing is known stable yet: publish nothing
                previous = current
                continue
            ready = {p: s for p, s in current.items() if previous.get(p) == s}
            hashed = 0
            for path, st in ready.items():
                if digests.get(path, (None,))[0] != st:
                    digest, here = digest_of(path, st[0])
                    digests[path] = (st, digest)
                    hashed += here
            for path in set(digests) - set(ready):
                del digests[path]
            previous = current
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
