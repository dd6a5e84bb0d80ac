"""Prints the harness's table from the JSON files perf.sh wrote."""
import json
import os
import re
import sys

work, pypictl = sys.argv[1], sys.argv[2]
load = lambda n: json.load(open(os.path.join(work, n + ".json"))) if os.path.exists(os.path.join(work, n + ".json")) else None


def lat(r, k):
    l = r["latency_ms"]
    v = l.get("all") or next(iter(l.values()))
    return v[k] / 1000.0


ref, new, warm, uploading = load("reference"), load("pypictl"), load("pypictl-warm"), load("pypictl-uploads")
projects = int(os.environ.get("PROJECTS", "500"))
pages = load("pages")
print("1. Burst: %s requests in flight, %d projects / %d files, two replicas each; pypictl's pages volume a %s MiB tmpfs (the template's, sized for %d projects)"
      % (os.environ.get("CONCURRENCY", "510"), projects, 2 * projects, pages and pages["pages_mib"], projects))
print("| configuration | requests | throughput (req/s) | P50 (s) | P95 (s) | P99 (s) | max (s) | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
ups = load("uploads")
runs = [("reference (gevent x4, simple-dir, bcrypt-12)", ref), ("pypictl (nginx sidecar + indexer pages + sync x4, simple-dir), first burst", new), ("pypictl, same burst again", warm)]
if uploading is not None:
    runs.append((f"pypictl, same burst with {ups['uploads']} uploads in a row meanwhile", uploading))
for name, r in runs:
    errs = sum(r["errors"].values()) if isinstance(r["errors"], dict) else r["errors"]
    print(f"| {name} | {r['requests']} | {r['throughput_rps']:.1f} | {lat(r,'p50'):.2f} | {lat(r,'p95'):.2f} | {lat(r,'p99'):.2f} | {lat(r,'max'):.2f} | {errs} {json.dumps(r['errors']) if errs else ''} |")
print(f"| ratio pypictl / reference | | {new['throughput_rps'] / max(ref['throughput_rps'], 0.001):.1f}x first, {warm['throughput_rps'] / max(ref['throughput_rps'], 0.001):.1f}x again | | | | | |")
if ups is not None:
    after = load("static-after-uploads")
    print(f"\nUploads during the burst: {ups['stored']} of {ups['uploads']} stored (statuses {ups['statuses']}; P50 {ups['p50_ms']} ms, max {ups['max_ms']} ms);"
          f" afterwards both replicas serve the last one from their static pages: A {after['static_a']}, B {after['static_b']}")
vis = load("visibility")
print(f"Upload through replica A -> listed by replica B: a new project (B's cache primed with the 404) {vis['upload_visible_ms']} ms;"
      f" a new version of an existing project, on B's static page, {vis.get('version_visible_ms')} ms\n")
print("2. Load clients against pypictl's configuration")
print("| client | requests | achieved (req/s) | client CPU (ms/request) |")
print("|---|---:|---:|---:|")
for name, n in (("pypictl bench", "bench-client"), ("Python requests + threads (2 procs)", "python-client")):
    r = load(n)
    if r is None:
        print(f"| {name} | not run: `pypictl bench` is not on this branch | | |")
        continue
    print(f"| {name} | {r['requests']} | {r['throughput_rps']:.1f} | {r['client_cpu_ms_per_request']:.3f} |")
print("\n3. `pypictl synth -c fixtures/examples/heavy.toml`, cold process (%s)" % pypictl)
print("| run | wall (s) | peak RSS (MiB) |")
print("|---|---:|---:|")
for i in (1, 2, 3):
    t = open(os.path.join(work, f"synth-{i}.time")).read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+(?:\.\d+)?)$", t, re.M)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    secs = float(wall.group(2)) + 60 * int(wall.group(1) or 0)
    print(f"| {i} | {secs:.3f} | {rss / 1024:.1f} |")

meta = load("metadata")
if meta is not None:
    print("\n4. PEP 658: a 50-wheel dependency tree (1 MiB per wheel), the same index without METADATA files (before) and with them (after)")
    print("| client | before: wall (s) | before: MiB served | before: requests | after: wall (s) | after: MiB served | after: requests (.metadata) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for client in meta["after"]:
        b, a = meta["before"][client], meta["after"][client]
        fail = lambda r: "" if r["ok"] else " (failed)"
        print(f"| {client} | {b['wall_s']:.2f}{fail(b)} | {b['bytes'] / 2**20:.1f} | {b['requests']} | {a['wall_s']:.2f}{fail(a)} | {a['bytes'] / 2**20:.1f} | {a['requests']} ({a['metadata_requests']}) |")
scale = load("scale")
if scale is not None:
    print(f"\n5. The page indexer alone at {scale['projects']} projects / {scale['files']} files (its template sized for them; pages on a real tmpfs of the template's size)")
    print("| first tree (s) | process peak (MiB) | pages (MiB) | memory (MiB) | limit (MiB) | pages volume (MiB) | steady CPU (% of one core) | upload on its page (s) | errors |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {scale['first_publish_s']} | {scale['process_peak_mib']} | {scale['pages_mib']} | {scale['memory_mib']} | {scale['memory_limit_mib']} | {scale['pages_volume_mib']} | {scale['steady_cpu_pct_of_one_core']} | {scale['upload_listed_s']} | {scale['errors_logged']} |")
