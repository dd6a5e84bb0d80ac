"""Writes a dependency tree of COUNT wheels into DIR: perftree-000 depends
on perftree-001 and -002, perftree-<i> on 2i+1 and 2i+2 (those below
COUNT), so installing perftree-000 needs all of them. Each wheel carries
SIZE_KIB KiB of random bytes stored uncompressed (what a resolver that
cannot read metadata separately must download to learn the dependencies)
and a valid METADATA (Requires-Dist, Requires-Python) and RECORD."""
import base64
import hashlib
import os
import sys
import zipfile

out, count, size_kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
digest = lambda b: base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
for i in range(count):
    name, module, version = f"perftree-{i:03d}", f"perftree_{i:03d}", "1.0.0"
    info = f"{module}-{version}.dist-info"
    requires = "".join(f"Requires-Dist: perftree-{c:03d}\n" for c in (2 * i + 1, 2 * i + 2) if c < count)
    files = {
        f"{module}/__init__.py": f"N = {i}\n".encode(),
        f"{module}/blob.bin": os.urandom(size_kib * 1024),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nRequires-Python: >=3.8\n{requires}".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: pypictl-perf\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{p},sha256={digest(b)},{len(b)}\n" for p, b in files.items()) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(os.path.join(out, f"{module}-{version}-py3-none-any.whl"), "w", zipfile.ZIP_STORED) as z:
        for p, b in [*files.items(), (f"{info}/RECORD", record.encode())]:
            z.writestr(p, b)
