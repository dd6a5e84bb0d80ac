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

from pypiserver.pkg_helpers import guess_pkgname_and_version, is_listed_path, normalize_pkgname, parse_version

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


# Strings many files share (project names, versions, Requires-Python):
# one object each, whatever the number of files.
SHARED = {}


def shared(value):
    return None if value is None else SHARED.setdefault(value, value)


def state_of(st):
    """A file's size and mtime as one int: what says it changed."""
    return (st.st_size << 64) | st.st_mtime_ns


class Index:
    """What the pages list, kept up to date change by change: per listed file
    (its path relative to PACKAGES) a small entry, per project the set of
    its files, and which pages are owed. Memory: under 1 KiB per file at its
    peak (scripts/perf/index_scale.py: 198 MiB at 200,000 files)."""

    # An entry: [state, project, version, sha256, METADATA's sha256 or None,
    # Requires-Python or None, the walk that last saw it].
    def __init__(self):
        self.files = {}
        self.projects = {}
        self.dirty = set()  # projects whose pages are owed
        self.names_changed = True  # the root index is owed
        self.hashed = 0  # files this process hashed (no record)

    def put(self, rel, state, seen):
        entry = self.files.get(rel)
        if entry is not None and entry[0] == state:
            entry[6] = seen
            return
        guessed = guess_pkgname_and_version(os.path.basename(rel))
        if guessed is None:  # not a package file: pypiserver does not list it either
            return
        name = shared(normalize_pkgname(guessed[0]))
        (digest, metadata, python), here = digest_of(str(PACKAGES / rel), state >> 64)
        self.hashed += here
        if entry is not None and entry[1] != name:
            self.remove(rel)
        self.files[rel] = [state, name, shared(guessed[1]), bytes.fromhex(digest), metadata and bytes.fromhex(metadata), shared(python), seen]
        if name not in self.projects:
            self.projects[name] = set()
            self.names_changed = True
        self.projects[name].add(rel)
        self.dirty.add(name)

    def remove(self, rel):
        entry = self.files.pop(rel, None)
        if entry is None:
            return
        name = entry[1]
        self.projects[name].discard(rel)
        if not self.projects[name]:
            del self.projects[name]
            self.names_changed = True
        self.dirty.add(name)

    def links(self, name):
        """A project's links, in pypiserver's order (version, then path):
        (file name, URL, sha256, METADATA's sha256 or None, Requires-Python or None)."""
        rels = sorted(self.projects[name], key=lambda rel: (parse_version(self.files[rel][2]), rel))
        out = []
        for rel in rels:
            _, _, _, digest, metadata, python, _ = self.files[rel]
            out.append((os.path.basename(rel), "/packages/" + rel.replace(os.sep, "/"), digest.hex(), metadata and metadata.hex(), python))
        return out

    def flush(self):
        """Writes the pages owed: those of projects gone first (freeing their
        space; their names go to pypiserver, which answers 404), then the
        changed projects' pages, the root index last (a name it lists before
        its page exists goes to pypiserver too). A page is no longer owed
        once written, so a failure leaves the rest owed for the next round."""
        for name in sorted(self.dirty, key=lambda n: n in self.projects):
            if name not in self.projects:
                shutil.rmtree(TREE / name, ignore_errors=True)
            elif NAME.match(name):
                links = self.links(name)
                write_page(f"{name}/index.json", project_json(name, links))
                write_page(f"{name}/index.html", project_html(name, links))
            self.dirty.discard(name)
        if self.names_changed:
            names = sorted(self.projects)
            write_page("index.json", index_json(names))
            write_page("index.html", index_html(names))
            self.names_changed = False


class Walker:
    """The walks of PACKAGES_DIR (pypiserver's rules: no dot paths, regular
    files), for what the change log does not say. A file new or changed
    since the index saw it is put once two consecutive walks saw the same
    state; a listed file no walk sees any more is removed. A path the change
    log spoke of recently is left to the log."""

    def __init__(self):
        self.count = 0
        self.candidates = {}  # rel -> state, seen new or changed by the last walk

    def walk(self, index, logged):
        """Returns whether it found something new or changing (walk again soon)."""
        self.count += 1
        seen, candidates = self.count, {}
        prefix = len(str(PACKAGES)) + 1
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
                if not stat.S_ISREG(st.st_mode):
                    continue
                rel, state = path[prefix:], state_of(st)
                entry = index.files.get(rel)
                if entry is not None and entry[0] == state:
                    entry[6] = seen
                elif rel not in logged:
                    if self.candidates.get(rel) == state:
                        index.put(rel, state, seen)
                    else:
                        candidates[rel] = state
        for rel in [r for r, e in index.files.items() if e[6] != seen and r not in logged]:
            index.remove(rel)
        self.candidates = candidates
        return bool(candidates)


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
    """The state of a logged file, by name, or None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return state_of(st) if stat.S_ISREG(st.st_mode) else None


def main():
    (PAGES / "trees").mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(PAGES / "trees"):
        shutil.rmtree(entry.path, ignore_errors=True)
    TREE.mkdir(parents=True)
    publisher = Publisher()
    threading.Thread(target=publisher.run, daemon=True).start()
    changes = ChangeLog()  # its end before the first walk: nothing is missed between them
    index, walker = Index(), Walker()
    logged = {}  # rel -> when the change log last spoke of it
    next_walk, published = 0.0, False
    while True:
        started = time.time()
        try:
            for op, path in changes.read():
                rel = os.path.relpath(path, PACKAGES)
                logged[rel] = started
                state = logged_state(path) if op == "+" else None
                if state is None:
                    index.remove(rel)
                else:
                    index.put(rel, state, walker.count)
            for rel in [r for r, when in logged.items() if started - when > LOGGED]:
                del logged[rel]
            if started >= next_walk:
                # Again soon while a file found by walking is new or changing.
                unsettled = walker.walk(index, logged)
                next_walk = started + (INTERVAL if unsettled or walker.count < 2 else WALK)
            if walker.count < 2:  # nothing is known stable yet: publish nothing
                continue
            if index.dirty or index.names_changed or not published:
                # Until every page is written, the lease is not renewed.
                hashed, index.hashed = index.hashed, 0
                index.flush()
                publisher.publish("current", started)
                published = True
                log(f"published {len(index.files)} files in {time.time() - started:.2f} s ({hashed} hashed here)")
            else:
                with publisher.lock:
                    publisher.scanned = started
        except Exception as e:
            log(f"scan: {e!r}")
        finally:
            time.sleep(max(0.0, INTERVAL - (time.time() - started)))


if __name__ == "__main__":
    main()
