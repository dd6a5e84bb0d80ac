"""pypictl page indexer: static PEP 503 pages for the proxy, kept fresh.

Runs in the task's `indexer` container (the pypiserver image: its Python and
its own pypiserver modules, so names, versions, order and escaping are
pypiserver's). Every INDEX_INTERVAL_SECONDS it walks PACKAGES_DIR once (as
pypiserver's simple-dir does on every request) and, only when the listed
files changed, writes a new tree of pages into PAGES_DIR/trees/<n>/simple/
(the root index and <normalized-name>/index.html, byte for byte what
pypiserver answers) and publishes it.

Publishing is a lease: nginx serves PAGES_DIR/live-<epoch second>/..., and
this process keeps a symlink live-<s> -> trees/<n> for the current second
and the next INDEX_LEASE_SECONDS, refreshed every quarter second, only while
its last completed scan is that recent. If it stops, hangs or falls behind
(a slow file system), the links run out within the lease and nginx answers
from pypiserver again (fresh, authoritative): a static page is never older
than scan interval + lease.

A file is listed once two consecutive scans saw it with the same size and
mtime (pypiserver writes uploads in place: never hash a half-written file);
digests (sha256, pypiserver's default) are computed once per (file, size,
mtime). Errors are logged and retried on the next scan.
"""
import hashlib
import os
import re
import shutil
import stat
import sys
import threading
import time
from pathlib import Path

from pypiserver.backend import valid_packages
from pypiserver.bottle_wrapper import template
from pypiserver.pkg_helpers import is_listed_path

PACKAGES = Path(os.environ["PACKAGES_DIR"]).resolve()
PAGES = Path(os.environ["PAGES_DIR"])
INTERVAL = float(os.environ.get("INDEX_INTERVAL_SECONDS", "1"))
LEASE = int(os.environ.get("INDEX_LEASE_SECONDS", "3"))
# The project names nginx looks up statically (its location regex is the
# same); any other name goes to pypiserver, which redirects or answers.
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")

# pypiserver 2.4.2's templates (_app.py, simpleindex and simple), verbatim.
INDEX = """<!DOCTYPE html>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Simple Index</title>
    </head>
    <body>
        <h1>Simple Index</h1>
        % for p in links:
                <a href="{{p}}/">{{p}}</a><br>
        % end
    </body>
</html>
    """
PROJECT = """<!DOCTYPE html>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Links for {{project}}</title>
    </head>
    <body>
        <h1>Links for {{project}}</h1>
        % for file, href in links:
            <a href="{{href}}">{{file}}</a><br>
        % end
    </body>
</html>
    """


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


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return f"sha256={h.hexdigest()}"


def render(files, digests):
    """{relative page path: bytes} for the listed files."""
    projects = {}
    for pkg in valid_packages(PACKAGES, [Path(p) for p in sorted(files)]):
        pkg.digest = digests[pkg.fn][1]
        projects.setdefault(pkg.pkgname_norm, []).append(pkg)
    pages = {"index.html": template(INDEX, links=sorted(projects))}
    for name, pkgs in projects.items():
        if not NAME.match(name):
            continue
        pkgs.sort(key=lambda x: (x.parsed_version, x.relfn))
        # pypiserver: urljoin("/simple/<name>/", "../../packages/" + fname_and_hash)
        links = [(os.path.basename(p.relfn), f"/packages/{p.relfn_unix}#{p.digest}") for p in pkgs]
        pages[f"{name}/index.html"] = template(PROJECT, project=name, links=links)
    return {k: v.encode() for k, v in pages.items()}


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


def write_tree(n, pages):
    root = PAGES / "trees" / f".{n}.tmp"
    shutil.rmtree(root, ignore_errors=True)
    for rel, body in pages.items():
        path = root / "simple" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    os.replace(root, PAGES / "trees" / str(n))


def main():
    (PAGES / "trees").mkdir(parents=True, exist_ok=True)
    for entry in os.scandir(PAGES / "trees"):
        shutil.rmtree(entry.path, ignore_errors=True)
    publisher = Publisher()
    threading.Thread(target=publisher.run, daemon=True).start()
    previous, digests, listed, n = None, {}, None, 0
    while True:
        started = time.time()
        try:
            current = scan()
            # Listed: seen unchanged by two consecutive scans.
            if previous is None:  # nothing is known stable yet: publish nothing
                previous = current
                continue
            ready = {p: s for p, s in current.items() if previous.get(p) == s}
            for path, st in ready.items():
                if digests.get(path, (None,))[0] != st:
                    digests[path] = (st, sha256(path))
            for path in set(digests) - set(ready):
                del digests[path]
            previous = current
            if ready != listed:
                n += 1
                write_tree(n, render(ready, digests))
                listed = ready
                old = publisher.publish(str(n), started)
                log(f"published {len(ready)} files as tree {n} in {time.time() - started:.2f} s")
                # The tree before the old one: no link has pointed to it for
                # a whole scan; a reader that opened a file keeps it.
                for entry in os.scandir(PAGES / "trees"):
                    if entry.name not in (str(n), old):
                        shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with publisher.lock:
                    publisher.scanned = started
        except Exception as e:
            log(f"scan: {e!r}")
        finally:
            time.sleep(max(0.0, INTERVAL - (time.time() - started)))


if __name__ == "__main__":
    main()
