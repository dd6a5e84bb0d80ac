"""A plain Python load client: requests + a thread pool per process.
Sends a burst (every request queued at once, `concurrency` in flight) of
the mix index / project page / wheel download (10/30/60, pypictl bench's
burst weights), projects picked uniformly, over the generated package
set, then prints one JSON object shaped like `pypictl bench --output json`
(requests, duration_s, throughput_rps, latency_ms p50/p95/p99/max, errors by
class, client_cpu_ms_per_request)."""
import argparse
import json
import multiprocessing
import os
import random
import resource
import time
from concurrent.futures import ThreadPoolExecutor

import requests


def worker(args, n, seed, q):
    rnd = random.Random(seed)
    auth = (args.username, os.environ["PYPICTL_BENCH_PASSWORD"])
    local = __import__("threading").local()
    deadline = time.monotonic() + args.duration

    def one(_):
        if time.monotonic() > deadline:
            return None
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
            s.auth = auth
        roll, p = rnd.random(), rnd.randrange(args.projects)
        path = "/simple/" if roll < 0.1 else f"/simple/perfproj{p:04d}/" if roll < 0.4 else f"/packages/perfproj{p:04d}-1.0.0-py3-none-any.whl"
        t = time.monotonic()
        try:
            r = s.get(args.url.rstrip("/") + path, timeout=args.timeout, allow_redirects=False)
            err = None if r.status_code == 200 else f"http_{r.status_code}"
        except requests.Timeout:
            err = "timeout"
        except requests.RequestException:
            err = "connection"
        return (time.monotonic() - t) * 1000.0, err

    with ThreadPoolExecutor(max_workers=max(1, args.concurrency // args.procs)) as pool:
        results = [r for r in pool.map(one, range(n)) if r is not None]
    q.put(results)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--username", required=True)
    ap.add_argument("--concurrency", type=int, default=510)
    ap.add_argument("--requests", type=int, default=2040)
    ap.add_argument("--duration", type=float, default=60.0, help="stop issuing new requests after this many seconds")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--projects", type=int, default=500)
    args = ap.parse_args()
    q = multiprocessing.Queue()
    start = time.monotonic()
    procs = [multiprocessing.Process(target=worker, args=(args, args.requests // args.procs, i, q)) for i in range(args.procs)]
    for p in procs:
        p.start()
    results = [r for _ in procs for r in q.get()]
    for p in procs:
        p.join()
    duration = time.monotonic() - start
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = (ru.ru_utime + ru.ru_stime) * 1000.0
    lat = sorted(r[0] for r in results)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0
    errors = {}
    for _, e in results:
        if e:
            errors[e] = errors.get(e, 0) + 1
    print(json.dumps({
        "requests": len(results),
        "duration_s": round(duration, 3),
        "throughput_rps": round(len(results) / duration, 1),
        "latency_ms": {"all": {"p50": round(pct(0.5), 1), "p95": round(pct(0.95), 1), "p99": round(pct(0.99), 1), "max": round(lat[-1] if lat else 0, 1)}},
        "errors": errors,
        "client_cpu_ms_per_request": round(cpu_ms / max(1, len(results)), 3),
    }))


if __name__ == "__main__":
    main()
