"""The page indexer at scale: its memory, its pages and its CPU.

Usage: index_scale.py <service template> <work dir> <projects> [<files per project>]

Writes <projects> projects of <files per project> files each (tiny files
with realistic names, each with the record pypiserver writes at upload: a
sha256, a METADATA digest and Requires-Python) into <work dir>/packages,
then starts the synthesized task's indexer container as ECS would
(container.py) with its pages volume a real tmpfs of the template's size,
in a user and mount namespace (`unshare -rm`), and measures:

- the time to its first published tree (every record read);
- its memory: peak resident set of the process (VmHWM) plus the tmpfs
  pages it wrote (charged to its memory cgroup on ECS), against the
  container's hard limit in the template;
- the pages' space against the volume's size;
- its CPU over a steady window of two full walks (a walk is due every
  INDEX_WALK_SECONDS), as a share of one core;
- how long an upload (a new file, its record, its change-log line, as
  pypiserver writes them) takes to reach its project's page.

Prints one JSON object. Everything local; bounded in time.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time

template, work, projects = sys.argv[1], sys.argv[2], int(sys.argv[3])
per_project = int(sys.argv[4]) if len(sys.argv) > 4 else 4
here = os.path.dirname(os.path.abspath(__file__))
defs = json.load(open(template))["Resources"]["TaskDefinition"]["Properties"]
indexer = next(c for c in defs["ContainerDefinitions"] if c["Name"] == "indexer")
env = {e["Name"]: e["Value"] for e in indexer["Environment"]}
volume = next(v for v in defs["Volumes"] if v["Name"] == "pages")
pages_mib = int(re.search(r"size=(\d+)m", volume["DockerVolumeConfiguration"]["DriverOpts"]["o"]).group(1))
limit_mib = indexer["Memory"]
walk_seconds = float(env["INDEX_WALK_SECONDS"])

packages = os.path.join(work, "packages")
records = os.path.join(packages, env["DIGESTS"])
pages = os.path.join(work, "pages")
os.makedirs(records, exist_ok=True)
os.makedirs(pages, exist_ok=True)
started = time.time()
meta = hashlib.sha256(b"metadata").hexdigest()


def write(name, data=b"x" * 64):
    path = os.path.join(packages, name)
    with open(path, "wb") as f:
        f.write(data)
    with open(os.path.join(records, name + ".sha256"), "w") as f:
        f.write(f"{len(data)} {hashlib.sha256(data).hexdigest()} {meta if name.endswith('.whl') else '-'} %3E%3D3.9\n")


for i in range(projects):
    for j in range(per_project):
        version = f"1.{j // 2}.0"
        write(f"scaleproj{i:06d}-{version}-py3-none-any.whl" if j % 2 == 0 else f"scaleproj{i:06d}-{version}.tar.gz")
generated = time.time() - started

mount = f'mount -t tmpfs -o size={pages_mib}m tmpfs "$0" && exec "$@"'
proc = subprocess.Popen(
    ["unshare", "-rm", "/bin/sh", "-c", mount, pages, sys.executable, os.path.join(here, "container.py"), template, "indexer",
     f"PACKAGES_DIR={packages}", f"PAGES_DIR={pages}"],
    stderr=open(os.path.join(work, "indexer.log"), "w"), env={**os.environ, "PATH": os.environ["PATH"]},
)


def indexer_pid():
    """The indexer's Python process (a child of the namespace's shell, which execs it)."""
    return proc.pid


seen = f"/proc/{proc.pid}/root{pages}"


def log():
    return open(os.path.join(work, "indexer.log")).read()


def status(field):
    for line in open(f"/proc/{indexer_pid()}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    return 0


def cpu_seconds():
    fields = open(f"/proc/{indexer_pid()}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tmpfs_used_mib():
    st = os.statvfs(seen)
    return (st.f_blocks - st.f_bfree) * st.f_frsize / (1 << 20)


deadline = time.time() + 1800
t0 = time.time()
while "published" not in log():
    if proc.poll() is not None or time.time() > deadline:
        sys.exit(f"index_scale: the indexer did not publish:\n{log()[-2000:]}")
    time.sleep(0.2)
first_publish = time.time() - t0

# Steady state: two full walks' worth of time, nothing changing.
window = 2 * walk_seconds + 5
c0, w0 = cpu_seconds(), time.time()
time.sleep(window)
steady_cpu = (cpu_seconds() - c0) / (time.time() - w0)

# An upload as pypiserver makes one: the file and its record, then the
# change-log line.
name = f"scaleproj{projects // 2:06d}-9.9.9-py3-none-any.whl"
write(name)
u0 = time.time()
with open(os.path.join(packages, env["CHANGES"]), "ab") as f:
    f.write(f"+ {name}\n".encode())
project_page = os.path.join(seen, "trees", "current", "simple", f"scaleproj{projects // 2:06d}", "index.html")
listed = None
while time.time() - u0 < 30:
    try:
        if name in open(project_page).read():
            listed = time.time() - u0
            break
    except OSError:
        pass
    time.sleep(0.05)

rss_peak = status("VmHWM") / 1024
used = tmpfs_used_mib()
result = {
    "projects": projects,
    "files": projects * per_project,
    "generate_s": round(generated, 1),
    "first_publish_s": round(first_publish, 1),
    "process_peak_mib": round(rss_peak, 1),
    "pages_mib": round(used, 1),
    "pages_volume_mib": pages_mib,
    "memory_mib": round(rss_peak + used, 1),
    "memory_limit_mib": limit_mib,
    "steady_cpu_pct_of_one_core": round(100 * steady_cpu, 2),
    "steady_window_s": round(window),
    "upload_listed_s": None if listed is None else round(listed, 2),
    "errors_logged": sum(1 for line in log().splitlines() if "scan:" in line),
}
proc.terminate()
proc.wait(timeout=30)
print(json.dumps(result))
