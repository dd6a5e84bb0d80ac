"""PEP 658 before and after: uv and pip resolving and installing a
dependency tree from an index without METADATA files ("before": the same
pages, the same server, records without METADATA) and with them
("after"). For each index and client: the wall time, and the bytes and
requests the index served (counted by the front nginx's access log,
"<bytes sent> <URI>" per request, truncated before each run). Caches
off; everything on 127.0.0.1; each run bounded by a 10-minute timeout.

Usage: metadata.py <tools dir> <work dir> <requirement> before=<index URL>,<access log> after=<index URL>,<access log>
Prints one JSON object: {index: {client: {wall_s, bytes, requests, metadata_requests, ok}}}.
"""
import json
import os
import shutil
import subprocess
import sys
import time

tools, work, requirement, *indexes = sys.argv[1:]
python = os.path.join(tools, "pypi", "bin", "python")
uv = os.path.join(tools, "pypi", "bin", "uv")
env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
env.update({"PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "UV_NO_CONFIG": "1", "HOME": work})


def clients(index, target):
    return {
        "uv pip install": [uv, "pip", "install", "--no-cache", "--python", python, "--target", target, "--index-url", index, requirement],
        "pip install": [python, "-m", "pip", "install", "--no-cache-dir", "--target", target, "--index-url", index, requirement],
        "uv pip compile (resolve only)": [uv, "pip", "compile", "--no-cache", "--python", python, "--index-url", index, "-"],
        "pip install --dry-run (resolve only)": [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-cache-dir", "--index-url", index, requirement],
    }


result = {}
for spec in indexes:
    label, _, rest = spec.partition("=")
    index, access_log = rest.split(",", 1)
    result[label] = {}
    for client, argv in clients(index, os.path.join(work, f"target-{label}")).items():
        shutil.rmtree(os.path.join(work, f"target-{label}"), ignore_errors=True)
        open(access_log, "w").close()
        t0 = time.monotonic()
        done = subprocess.run(argv, input=requirement + "\n", capture_output=True, text=True, env=env, timeout=600)
        wall = time.monotonic() - t0
        time.sleep(0.5)  # nginx writes a request's log line once it is answered
        lines = [line.split(" ", 1) for line in open(access_log).read().splitlines() if " " in line]
        result[label][client] = {
            "ok": done.returncode == 0,
            "wall_s": round(wall, 2),
            "bytes": sum(int(b) for b, _ in lines),
            "requests": len(lines),
            "metadata_requests": sum(1 for _, uri in lines if uri.endswith(".metadata")),
        }
        if done.returncode != 0:
            result[label][client]["error"] = (done.stdout + done.stderr)[-500:]
print(json.dumps(result))
