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
HEX = re.compile(r"[0-9a-f]{64}\Z")


def record_of(path, size):
    """What pypiserver recorded about a file when it stored it: (sha256,
    METADATA's sha256 or None, Requires-Python or None) as bytes, bytes,
    str; None if there is no record of this size."""
    try:
        fields = (DIGESTS / (os.path.relpath(path, PACKAGES) + ".sha256")).read_text().split()
    except OSError:
        return None
    if len(fields) < 2 or not fields[0].isdigit() or int(fields[0]) != size or not HEX.match(fields[1]):
        return None
    metadata, python = (fields[2:4] + ["-", "-"])[:2]
    return bytes.fromhex(fields[1]), bytes.fromhex(metadata) if HEX.match(metadata) else None, None if python == "-" else urllib.parse.unquote(python)


class Unsettled(Exception):
    """The file changed while it was read: hashed again later."""


def sha256(path, state):
    """The file's sha256, if it is in `state` before and after the read (on
    NFS, two walks' stat may come from an attribute cache while the file is
    still being written; the open file's fstat is fresh)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if state_of(os.fstat(f.fileno())) != state:
            raise Unsettled(path)
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
        if state_of(os.fstat(f.fileno())) != state:
            raise Unsettled(path)
    return h.digest()


# The one tree of pages, as the lease links name it (relative to PAGES).
CURRENT = "trees/current"
TREE = PAGES / CURRENT / "simple"


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


def regular_state(path):
    """The state of a regular file, or None (gone, or not a regular file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return state_of(st) if stat.S_ISREG(st.st_mode) else None


class Index:
    """What the pages list, kept up to date change by change: per listed file
    (its path relative to PACKAGES) a small entry, per project the set of
    its files, and which pages are owed. Memory: about 1 KiB per file at its
    peak (scripts/perf/index_scale.py: 220 MiB at 200,000 files)."""

    # An entry: [state, project, version, sha256, METADATA's sha256 or None,
    # Requires-Python or None, the walk that last saw it, whether it came
    # from pypiserver's record (else hashed here)].
    def __init__(self):
        self.files = {}
        self.projects = {}
        self.dirty = set()  # projects whose pages are owed
        self.names_changed = True  # the root index is owed
        self.hashed = 0  # files this process hashed (no record)

    def put(self, rel, state, seen, reread=False):
        """Lists a file (or updates it): True once settled (listed, or not a
        package file, which pypiserver does not list either), False if it
        must be tried again (it changed while hashed, or cannot be read:
        logged). `reread`: read its record again even if its state is known
        (the change log says pypiserver has just written it)."""
        entry = self.files.get(rel)
        if entry is not None and entry[0] == state and not (reread and not entry[7]):
            entry[6] = seen
            return True
        guessed = guess_pkgname_and_version(os.path.basename(rel))
        if guessed is None:
            return True
        name = shared(normalize_pkgname(guessed[0]))
        path = str(PACKAGES / rel)
        record = record_of(path, state >> 64)
        try:
            digest, metadata, python = record or (sha256(path, state), None, None)
        except Unsettled:
            return False
        except OSError as e:
            log(f"{rel}: not listed: {e}")
            return False
        self.hashed += record is None
        if entry is not None and entry[1] != name:
            self.remove(rel)
        self.files[rel] = [state, name, shared(guessed[1]), digest, metadata, shared(python), seen, record is not None]
        if name not in self.projects:
            self.projects[name] = set()
            self.names_changed = True
        self.projects[name].add(rel)
        self.dirty.add(name)
        return True

    def recheck_records(self):
        """Files hashed here (no record yet): pypiserver records them in the
        background (files it finds without one); read the record once it is
        there, for the metadata it carries."""
        for rel, entry in list(self.files.items()):
            if not entry[7]:
                record = record_of(str(PACKAGES / rel), entry[0] >> 64)
                if record is not None and record[0] == entry[3]:
                    entry[4], entry[5], entry[7] = record[1], shared(record[2]), True
                    self.dirty.add(entry[1])

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
            _, _, _, digest, metadata, python, _, _ = self.files[rel]
            url = "/packages/" + urllib.parse.quote(rel.replace(os.sep, "/"))
            out.append((os.path.basename(rel), url, digest.hex(), metadata and metadata.hex(), python))
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
    files), for what the change log does not say. A walk runs in its own
    thread and only collects {path: state}: on EFS it can take longer than
    the lease, and meanwhile the main loop keeps reading the change log and
    renewing the lease. Applied to the index: a file new or changed since
    the index saw it is put once two consecutive walks saw the same state; a
    listed file no walk sees any more is removed; a path the change log
    spoke of recently is left to the log; a file that is no package is
    remembered, not walked for again."""

    def __init__(self):
        self.count = 0  # walks applied
        self.candidates = {}  # rel -> state, new or changed in the last walk
        self.retry = {}  # rel -> state, could not be listed (retried at the next walk)
        self.ignored = {}  # rel -> state, not package files
        self.running = None  # the thread of the walk under way
        self.found = None

    def start(self):
        def collect():
            try:
                self.found = walk()
            except Exception as e:  # the next walk retries
                log(f"walk: {e!r}")

        def walk():
            found, prefix = {}, len(str(PACKAGES)) + 1
            for dirpath, dirnames, filenames in os.walk(PACKAGES):
                dirnames[:] = [d for d in dirnames if is_listed_path(d)]
                for name in filenames:
                    if not is_listed_path(name):
                        continue
                    path = os.path.join(dirpath, name)
                    state = regular_state(path)
                    if state is not None:
                        found[path[prefix:]] = state
            return found

        self.found = None
        self.running = threading.Thread(target=collect, daemon=True)
        self.running.start()

    def apply(self, index, logged):
        """Applies the walk that has ended, if one has: whether it found
        something new or changing (walk again soon), else None."""
        if self.running is None or self.running.is_alive():
            return None
        self.running, found = None, self.found
        if found is None:  # the walk failed (logged by the thread): walk again
            return True
        self.count += 1
        seen, candidates, retry = self.count, {}, {}
        for rel, state in found.items():
            entry = index.files.get(rel)
            if entry is not None and entry[0] == state:
                entry[6] = seen
            elif rel in logged or self.ignored.get(rel) == state:
                continue
            elif self.candidates.get(rel) == state or self.retry.get(rel) == state:
                if not index.put(rel, state, seen):
                    retry[rel] = state
                elif rel not in index.files:
                    self.ignored[rel] = state
            else:
                candidates[rel] = state
        for rel in [r for r, e in index.files.items() if e[6] != seen and r not in logged]:
            index.remove(rel)
        self.ignored = {r: s for r, s in self.ignored.items() if r in found}
        self.candidates, self.retry = candidates, retry
        index.recheck_records()
        return bool(candidates)


class Publisher:
    def __init__(self):
        self.lock = threading.Lock()
        self.live = False  # whether the tree has been published
        self.scanned = 0.0  # wall time the last completed round started

    def publish(self, scanned):
        """The tree is whole as of `scanned`: leased from then on."""
        with self.lock:
            first, self.live, self.scanned = not self.live, True, scanned
        if first:
            self.refresh()

    def refresh(self):
        with self.lock:
            live, scanned = self.live, self.scanned
        now = int(time.time())
        if live:
            for s in range(now, int(scanned) + LEASE + 1):
                link = PAGES / f"live-{s}"
                if not os.path.islink(link):
                    tmp = PAGES / f".tmp-live-{s}"
                    try:
                        os.unlink(tmp)
                    except FileNotFoundError:
                        pass
                    os.symlink(CURRENT, tmp)
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


def main():
    trees = (PAGES / CURRENT).parent  # what an earlier run of this container left: gone
    trees.mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(trees):
        shutil.rmtree(entry.path, ignore_errors=True)
    TREE.mkdir(parents=True)
    publisher = Publisher()
    threading.Thread(target=publisher.run, daemon=True).start()
    changes = ChangeLog()  # its end before the first walk: nothing is missed between them
    index, walker = Index(), Walker()
    logged = {}  # rel -> when the change log last spoke of it
    pending = {}  # logged uploads not listable yet: path -> rounds tried
    next_walk = 0.0
    while True:
        started = time.time()
        try:
            retry = {}
            for op, path in changes.read() + [("+", p) for p in pending]:
                rel = os.path.relpath(path, PACKAGES)
                if op == "-":
                    logged[rel] = started
                    index.remove(rel)
                    continue
                state = regular_state(path)
                # Not there (yet) for this client, or changing: the next round
                # tries again, for a while; the walks find it anyway.
                if state is not None and index.put(rel, state, walker.count, reread=True):
                    logged[rel] = started
                elif pending.get(path, 0) < LOGGED:
                    retry[path] = pending.get(path, 0) + 1
            pending = retry
            for rel in [r for r, when in logged.items() if started - when > LOGGED]:
                del logged[rel]
            if walker.running is None and started >= next_walk:
                walker.start()
                walker.running.join(INTERVAL / 2)  # a short walk is applied in this round
            unsettled = walker.apply(index, logged)
            if unsettled is not None:
                # Again soon while a file found by walking is new or changing.
                next_walk = started + (INTERVAL if unsettled or walker.count < 2 else WALK)
            if walker.count < 2:  # nothing is known stable yet: publish nothing
                continue
            owed = bool(index.dirty) or index.names_changed or not publisher.live
            if owed:
                # Until every page is written, the lease is not renewed.
                hashed, index.hashed = index.hashed, 0
                index.flush()
            publisher.publish(started)
            if owed:
                log(f"published {len(index.files)} files in {time.time() - started:.2f} s ({hashed} hashed here)")
        except Exception as e:
            log(f"scan: {e!r}")
        finally:
            time.sleep(max(0.0, INTERVAL - (time.time() - started)))


if __name__ == "__main__":
    main()
