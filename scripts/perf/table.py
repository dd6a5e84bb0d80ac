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


ref, new, warm = load("reference"), load("pypictl"), load("pypictl-warm")
print("1. Burst: %s requests in flight, same package set, two replicas each" % os.environ.get("CONCURRENCY", "510"))
print("| configuration | requests | throughput (req/s) | P50 (s) | P95 (s) | P99 (s) | max (s) | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for name, r in (("reference (gevent x4, simple-dir, bcrypt-12)", ref), ("pypictl (nginx sidecar + indexer pages + sync x4, simple-dir), first burst", new), ("pypictl, same burst again", warm)):
    errs = sum(r["errors"].values()) if isinstance(r["errors"], dict) else r["errors"]
    print(f"| {name} | {r['requests']} | {r['throughput_rps']:.1f} | {lat(r,'p50'):.2f} | {lat(r,'p95'):.2f} | {lat(r,'p99'):.2f} | {lat(r,'max'):.2f} | {errs} {json.dumps(r['errors']) if errs else ''} |")
print(f"| ratio pypictl / reference | | {new['throughput_rps'] / max(ref['throughput_rps'], 0.001):.1f}x first, {warm['throughput_rps'] / max(ref['throughput_rps'], 0.001):.1f}x again | | | | | |")
vis = load("visibility")["upload_visible_ms"]
print(f"\nUpload through replica A -> listed by replica B (cache primed with the 404): {vis} ms\n")
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
