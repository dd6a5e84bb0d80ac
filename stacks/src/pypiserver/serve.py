"""pypictl's pypiserver (stacks/src/pypiserver/serve.py): pypiserver's own app
under gunicorn, as `pypi-server run --server gunicorn` runs it, plus what the
index needs and pypi-server cannot do:

- two credentials (read: list and download; publish: also upload), each
  accepting its `password` and, during a rotation, its `pending_password`;
- uploaded files are immutable: written whole under .incoming, then
  hard-linked to their name (an existing name: 409, race-free across
  replicas sharing the directory); removal refused (405) unless ALLOW_DELETE;
- every temporary file (request bodies, form parts) in .incoming on the
  package volume, never in the small /tmp;
- /health is 200 only while an upload could be written;
- what the indexers list about each stored file, recorded once for the
  whole service beside the packages: its sha256, and from its metadata
  Requires-Python and, for a wheel, METADATA itself (PEP 658).

Run as `python -u -c <this> read=<VAR> publish=<VAR>`, each VAR holding that
role's secret as JSON. It hashes the passwords and re-executes itself without
the secrets in its environment, handing the digests over through a pipe: the
server and its workers never have the secrets in their environment, argv or
files. (The container's init process keeps the environment ECS gave it, as
every container does: this narrows where the secrets are, not who can read
them in the container.)
"""
import contextlib
import email.parser
import fcntl
import hashlib
import hmac
import json
import logging
import os
import pathlib
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import zipfile

HANDOVER = "PYPICTL_DIGESTS_FD"


def fail(message):
    print(f"pypiserver: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def digests():
    """[role, username, salt, sha256(salt + password)] per accepted password."""
    entries = []
    for arg in sys.argv[1:] or fail("no role=VAR arguments"):
        role, _, var = arg.partition("=")
        if role not in ("read", "publish") or var not in os.environ:
            fail(f"{arg}: not a role (read, publish) and a set variable")
        try:
            secret = json.loads(os.environ[var])
            user, passwords = secret["username"], [secret["password"], secret.get("pending_password") or ""]
        except (ValueError, KeyError, TypeError):
            fail(f"{var} is not a secret's JSON with a username and a password")
        if not (user and isinstance(user, str) and all(isinstance(p, str) for p in passwords) and passwords[0]):
            fail(f"{var} has an empty or malformed username or password")
        for password in filter(None, passwords):
            salt = os.urandom(16)
            entries.append([role, user, salt.hex(), hashlib.sha256(salt + password.encode()).hexdigest()])
    return entries


# /proc/<pid>/environ keeps the environment a process was executed with,
# whatever os.environ drops later: only a new exec leaves the secrets behind.
if HANDOVER not in os.environ:
    handover = json.dumps(digests()).encode()
    read_end, write_end = os.pipe()
    os.write(write_end, handover)  # a few hundred bytes: within the pipe's buffer
    os.close(write_end)
    os.set_inheritable(read_end, True)
    env = {k: v for k, v in os.environ.items() if k not in {a.partition("=")[2] for a in sys.argv[1:]}}
    env[HANDOVER] = str(read_end)
    os.execve(sys.executable, sys.orig_argv, env)

with os.fdopen(int(os.environ.pop(HANDOVER)), "rb") as handover:
    ACCEPTED = [(role, user.encode(), bytes.fromhex(salt), bytes.fromhex(digest)) for role, user, salt, digest in json.load(handover)]

import pypiserver  # noqa: E402  (after the re-execution: imported once)
from pypiserver import bottle_wrapper as bottle  # noqa: E402
from pypiserver.backend import BackendProxy, SimpleFileBackend  # noqa: E402

HTTPError, request = bottle.HTTPError, bottle.request
# pypiserver logs every request's environ (its Authorization header too) at
# INFO: its loggers stay at WARNING; ours says what was stored or refused.
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("pypictl")
log.setLevel(logging.INFO)

PACKAGES = os.path.realpath(os.environ["PACKAGES_DIR"])
INCOMING = os.path.join(PACKAGES, os.environ["INCOMING"])
MIB = 1 << 20  # an MB here is nginx's `m`, as in client_max_body_size
MAX_UPLOAD = int(os.environ["MAX_UPLOAD_MB"]) * MIB
MAX_BODY = int(os.environ["MAX_BODY_MB"]) * MIB
ALLOW_DELETE = os.environ["ALLOW_DELETE"] == "true"
# A worker is killed after its timeout (10 minutes at most, see
# worker_timeout_seconds), so a temporary file this old has no writer left.
STALE_SECONDS = 3600

# gunicorn's heartbeat files stay in the scratch tmpfs (TMPDIR or /tmp);
# everything else that tempfile creates (bottle's spooled bodies, the form
# parts) goes to the package volume, sized for uploads.
DIGESTS = os.path.join(PACKAGES, os.environ["DIGESTS"])
CHANGES = os.path.join(PACKAGES, os.environ["CHANGES"])
os.makedirs(INCOMING, mode=0o700, exist_ok=True)
SCRATCH = tempfile.gettempdir()
tempfile.tempdir = INCOMING


def role_of(user, password):
    """The role a username and password grant, or None. Every entry is
    compared, in constant time; a pair both roles accept is read (the first)."""
    found = None
    for role, name, salt, digest in ACCEPTED:
        same = hmac.compare_digest(name, user.encode()) & hmac.compare_digest(digest, hashlib.sha256(salt + password.encode()).digest())
        if same and found is None:
            found = role
    return found


# A METADATA larger than this (a wheel's long description) is not served
# separately: pip and uv download the wheel instead.
METADATA_LIMIT = 4 * MIB
# How far into an sdist's uncompressed tar its PKG-INFO is looked for (it is
# near the start or the end of a small archive).
SDIST_SCAN_LIMIT = 256 * MIB


def requires_python(metadata):
    """The Requires-Python of core metadata (RFC 822 headers), or None."""
    value = email.parser.BytesHeaderParser().parsebytes(metadata).get("Requires-Python")
    value = " ".join(str(value or "").split())
    return value[:1024] or None


def core_metadata(path):
    """(a wheel's METADATA bytes, or None; Requires-Python, or None), read
    from the distribution: a wheel's <name>.dist-info/METADATA (PEP 427), an
    sdist's top-level PKG-INFO. What cannot be read is left out: the file is
    listed without it."""
    try:
        if path.endswith(".whl"):
            with zipfile.ZipFile(path) as z:
                found = [i for i in z.infolist() if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/METADATA")]
                if len(found) != 1 or found[0].file_size > METADATA_LIMIT:
                    return None, None
                data = z.read(found[0])
            return data, requires_python(data)
        if path.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path, "r:gz") as t:
                for member in t:
                    if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                        return None, requires_python(t.extractfile(member).read(METADATA_LIMIT))
                    if member.offset_data > SDIST_SCAN_LIMIT:  # a PKG-INFO this far in is not worth a gzip bomb
                        break
        elif path.endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                for i in z.infolist():
                    if i.filename.count("/") == 1 and i.filename.endswith("/PKG-INFO") and i.file_size <= METADATA_LIMIT:
                        return None, requires_python(z.read(i))
    except Exception as e:  # noqa: BLE001 - whatever a malformed archive raises (zlib.error, NotImplementedError, ...)
        log.warning("could not read the metadata of %s: %r", os.path.basename(path), e)
    return None, None


def write_whole(path, data):
    """Writes a file whole under a temporary name in .incoming, then renames it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="digest-", dir=INCOMING)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def record_digest(rel, size, hexdigest):
    """Records what every task's indexer lists about a stored file, once for
    the whole service: DIGESTS/<rel>.sha256 holds "<size> <sha256 hex>
    <METADATA's sha256 hex or -> <Requires-Python percent-encoded or ->", and
    for a wheel DIGESTS/<rel>.metadata its METADATA (PEP 658: the proxy
    serves it at <file URL>.metadata), written before the record that
    announces it."""
    metadata, python = core_metadata(os.path.join(PACKAGES, rel))
    record = os.path.join(DIGESTS, rel + ".sha256")
    if metadata is not None:
        write_whole(os.path.join(DIGESTS, rel + ".metadata"), metadata)
    meta_hex = hashlib.sha256(metadata).hexdigest() if metadata is not None else "-"
    python = urllib.parse.quote(python, safe="") if python else "-"
    write_whole(record, f"{size} {hexdigest} {meta_hex} {python}\n".encode())


def log_change(op, rel):
    """Appends `<op> <rel, percent-encoded>` to the change log that every
    task's indexer reads. Under an exclusive lock (NFSv4 byte-range locks,
    which EFS supports): appends from instances that each believe they know
    the file's end would otherwise overwrite one another, and an NFS client
    writes what it holds back to the server before it releases a lock
    (nfs(5), "File locking"), so the line is there for the next reader's
    open (close-to-open consistency)."""
    with open(CHANGES, "ab") as out:
        fcntl.lockf(out, fcntl.LOCK_EX)
        try:
            out.write(f"{op} {urllib.parse.quote(rel)}\n".encode())
            out.flush()
            os.fsync(out.fileno())
        finally:
            fcntl.lockf(out, fcntl.LOCK_UN)


def announce(op, rel):
    try:
        log_change(op, rel)
    except OSError as e:  # the indexers' next walk (a minute at most) finds it
        log.warning("could not log the change of %s: %s", rel, e)


class Store(SimpleFileBackend):
    """simple-dir, but a file appears whole under its name, once: written to
    .incoming, then hard-linked to its name, which fails if the name exists
    (atomically, on NFS/EFS too). pypiserver runs with overwrite so that this,
    not its racy exists() check (400 to twine), decides. Its sha256, computed
    while it is written, is recorded for the indexers."""

    def add_package(self, filename, stream):
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        if filename.startswith("."):
            raise HTTPError(400, f"Bad filename: {filename}")
        if size > MAX_UPLOAD:
            raise HTTPError(413, f"{filename} is larger than {MAX_UPLOAD // MIB} MB")
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix="upload-", dir=INCOMING)
        try:
            with os.fdopen(fd, "wb") as out:
                for block in iter(lambda: stream.read(MIB), b""):
                    digest.update(block)
                    out.write(block)
                os.fchmod(out.fileno(), 0o644)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, os.path.join(PACKAGES, filename))
            except FileExistsError:
                log.warning("refused to overwrite %s", filename)
                raise HTTPError(409, f"{filename} already exists: uploaded files are immutable") from None
        finally:
            os.unlink(tmp)
        log.info("stored %s (%d bytes)", filename, size)
        try:
            record_digest(filename, size, digest.hexdigest())
        except OSError as e:  # the indexers hash the file themselves
            log.warning("could not record the digest of %s: %s", filename, e)
        finally:
            announce("+", filename)

    def remove_package(self, pkg):
        # The records first: once the file is gone, another replica may store
        # a new file under its name, whose records must stay.
        records = [os.path.join(DIGESTS, pkg.relfn + suffix) for suffix in (".sha256", ".metadata")] if pkg.relfn else []
        for record in records:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(record)
        super().remove_package(pkg)
        if pkg.relfn:
            announce("-", pkg.relfn)


def backfill():
    """Records the digest of every listed file that has none (stored before
    digests were recorded, or copied in by other means), once for the whole
    service. A file changed in the last minute, or while it was read, may be
    half-written: it waits for a later start."""
    for dirpath, dirnames, filenames in os.walk(PACKAGES):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, PACKAGES)
            if name.startswith(".") or os.path.exists(os.path.join(DIGESTS, rel + ".sha256")):
                continue
            try:
                before = os.stat(path)
                if time.time() - before.st_mtime < 60:
                    continue
                digest = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(MIB), b""):
                        digest.update(block)
                after = os.stat(path)
                if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
                    record_digest(rel, after.st_size, digest.hexdigest())
            except OSError as e:
                log.warning("could not record the digest of %s: %s", rel, e)


app = pypiserver.app(
    roots=[pathlib.Path(PACKAGES)],
    backend_arg="simple-dir",
    authenticate=["download", "list", "update"],
    # gate() (below) has checked the credentials of every request this is
    # asked about: its answer, not a second round of hashing.
    auther=lambda user, password: "pypictl.role" in request.environ,
    disable_fallback=os.environ["DISABLE_FALLBACK"] == "true",
    overwrite=True,
    hash_algo="sha256",
    health_endpoint="/health",
)
config = app._pypiserver_config
config.backend = BackendProxy(Store(config))


@app.hook("before_request")
def gate():
    """Every route but /health needs a credential; anything but GET and HEAD
    needs the publish one, a declared length within MAX_BODY (checked before
    the body is read) and the whole body (a cut-off one is never parsed)."""
    if request.environ["PATH_INFO"] == "/health":
        return
    auth = request.auth
    role = role_of(*auth) if auth and auth[1] is not None else None
    if role is None:
        raise HTTPError(401, "Unauthorized", headers={"WWW-Authenticate": 'Basic realm="pypiserver"'})
    request.environ["pypictl.role"] = role
    if request.method in ("GET", "HEAD"):
        return
    if role != "publish":
        raise HTTPError(403, "This credential may list and download only")
    if request.chunked:
        raise HTTPError(411, "A Content-Length is required")
    length = max(request.content_length, 0)
    if length > MAX_BODY:
        raise HTTPError(413, f"Larger than {MAX_BODY // MIB} MB")
    if request.body.seek(0, os.SEEK_END) != length:
        raise HTTPError(400, "Incomplete request body")


upload = next(r.callback for r in app.routes if r.rule == "/" and r.method == "POST")


@app.post("/")
def update():
    if request.forms.get(":action") == "remove_pkg" and not (ALLOW_DELETE and request.environ["pypictl.role"] == "publish"):
        log.warning("refused remove_pkg of %s %s", request.forms.get("name"), request.forms.get("version"))
        raise HTTPError(405, "Uploaded files are immutable: removal is disabled")
    return upload()


@app.get("/health")
def health():
    try:
        os.makedirs(INCOMING, mode=0o700, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix="health-", dir=INCOMING)
        try:
            os.write(fd, b"\0")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise HTTPError(503, f"Uploads cannot be written: {e.strerror}") from None
    sweep()
    return "Ok"


def sweep():
    """Removes what a killed worker left in .incoming: our named files, and
    bottle's spooled files, unlinked while open, which an NFS client keeps
    as `.nfs*` until they are closed (forever, if its instance died)."""
    cutoff = time.time() - STALE_SECONDS
    try:
        for entry in os.scandir(INCOMING):
            if entry.name.startswith(("upload-", "health-", "digest-", ".nfs")) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
    except OSError:
        pass  # another replica removed it first, or the next check retries


def application(environ, start_response):
    """The app, closing the request's spooled files as soon as it answers:
    a failed or cut-off upload leaves nothing open behind on the worker."""
    try:
        return app(environ, start_response)
    finally:
        form = environ.get("_cgi.FieldStorage")
        for spooled in [environ.get("bottle.request.body")] + [part.file for part in (form and form.list) or []]:
            if spooled is not None:
                spooled.close()


# As pypi-server's `--server gunicorn`: gunicorn reads its own argv, so it
# gets none; its settings come from GUNICORN_CMD_ARGS.
sys.argv = ["gunicorn"]
# In gunicorn's master, beside the workers it forks: a thread is not forked.
threading.Thread(target=backfill, daemon=True).start()
bottle.run(app=application, host=os.environ["PYPISERVER_HOST"], port=int(os.environ["PYPISERVER_PORT"]), server="gunicorn", worker_tmp_dir=SCRATCH)
