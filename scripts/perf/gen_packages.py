"""Writes N projects, a wheel and an sdist each (small random payloads with
valid names), into a package directory: the harness's package set."""
import os
import sys

out, projects = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
for i in range(projects):
    for name in (f"perfproj{i:04d}-1.0.0-py3-none-any.whl", f"perfproj{i:04d}-1.0.0.tar.gz"):
        with open(os.path.join(out, name), "wb") as f:
            f.write(os.urandom(4096))
