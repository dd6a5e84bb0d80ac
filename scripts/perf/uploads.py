"""Uploads COUNT new wheels in a row (each a new version of one of the
generated projects: perfproj<i>-2.0.<k>-py3-none-any.whl, 4 KiB random
payload), as twine posts them, with the publish credential
(PERF_USERNAME / PERF_PASSWORD), to URL. Bounded: COUNT uploads, each with
a 60 s timeout. Prints one JSON object: uploads, stored (HTTP 200), the
status counts, P50 and max latency (ms), and the last file's name and
project."""
import collections
import json
import os
import sys
import time

import requests

url, count, projects = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tag = sys.argv[4] if len(sys.argv) > 4 else "2.0"
auth = (os.environ["PERF_USERNAME"], os.environ["PERF_PASSWORD"])
statuses, latencies, last = collections.Counter(), [], None
with requests.Session() as s:
    for k in range(count):
        project = f"perfproj{(k * 7919) % projects:04d}"
        version = f"{tag}.{k}"
        name = f"{project}-{version}-py3-none-any.whl"
        t0 = time.monotonic()
        try:
            r = s.post(url, auth=auth, timeout=60,
                       data={":action": "file_upload", "name": project, "version": version, "filetype": "bdist_wheel", "pyversion": "py3", "protocol_version": "1"},
                       files={"content": (name, os.urandom(4096), "application/octet-stream")})
            statuses[r.status_code] += 1
        except requests.RequestException as e:
            statuses[type(e).__name__] += 1
        latencies.append((time.monotonic() - t0) * 1000)
        last = (name, project)
latencies.sort()
print(json.dumps({
    "uploads": count,
    "stored": statuses.get(200, 0),
    "statuses": {str(k): v for k, v in statuses.items()},
    "p50_ms": round(latencies[len(latencies) // 2]) if latencies else None,
    "max_ms": round(latencies[-1]) if latencies else None,
    "last_file": last[0] if last else None,
    "last_project": last[1] if last else None,
}))
