#!/usr/bin/env bash
# Performance harness (not part of the test suite): prints a table.
#  1. the reference configuration (pypiserver 2.4.2, 4 gevent workers,
#     simple-dir, bcrypt cost-12 htpasswd) vs pypictl's (the synthesized
#     task: pypiserver 4 sync workers + the nginx proxy sidecar, started by
#     their own programs, with the two credentials the task gets: read for
#     the load, publish for the upload), each as two replicas sharing one package
#     directory (500 projects / 1000 files) behind a round-robin nginx that
#     stands in for the ALB, under the same burst (510 in flight); then the
#     upload -> visible time across pypictl's replicas;
#  2. `pypictl bench` vs a plain Python requests + thread-pool client;
#  3. `pypictl synth` of the heavy example: cold-process wall time, peak RSS.
# Everything on 127.0.0.1, every load bounded in count and time.
# Env: REQUESTS (per run, default 2040), CONCURRENCY (510), DURATION (60 s
# cap on issuing), PROJECTS (500), PYPICTL (binary; default: cargo build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="$(bash scripts/tools.sh)"
nginx="$(PYPICTL_TOOLS="$tools" bash scripts/nginx.sh)"
REQUESTS="${REQUESTS:-2040}" CONCURRENCY="${CONCURRENCY:-510}" DURATION="${DURATION:-60}" PROJECTS="${PROJECTS:-500}"
if [[ -z "${PYPICTL:-}" ]]; then
  cargo build --locked --quiet
  PYPICTL="${CARGO_TARGET_DIR:-$root/target}/debug/pypictl"
fi
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start LOG CMD...: in its own process group (stopped as a group on exit).
start() { local log="$1"; shift; setsid "$@" >"$log" 2>&1 & pids+=($!); }
wait_ok() { # URL [curl args]: 200 within 60 s
  local url="$1"; shift
  for _ in $(seq 300); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url")" == 200 ]] && return 0
    sleep 0.2
  done
  echo "perf.sh: $url not ready" >&2; exit 1
}
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
lb() { # PORT UPSTREAM_PORT... : round-robin stand-in for the ALB
  local port="$1"; shift; local d="$work/lb-$port"; mkdir -p "$d"
  { echo "worker_processes 1; pid $d/pid; events { worker_connections 4096; }"
    echo "http { access_log off; client_body_temp_path $d/b; proxy_temp_path $d/p; fastcgi_temp_path $d/f; uwsgi_temp_path $d/u; scgi_temp_path $d/s;"
    echo "upstream r { $(for p in "$@"; do printf 'server 127.0.0.1:%s; ' "$p"; done) keepalive 64; }"
    echo "server { listen 127.0.0.1:$port backlog=4096; client_max_body_size 0; location / { proxy_pass http://r; proxy_http_version 1.1;"
    echo "proxy_set_header Connection \"\"; proxy_set_header Host \$http_host; proxy_read_timeout 120s; proxy_next_upstream off; } } }"
  } >"$d/nginx.conf"
  start "$d/log" "$nginx" -p "$d" -c "$d/nginx.conf" -e stderr -g 'daemon off;'
}
client() { # NAME URL
  PYPICTL_BENCH_PASSWORD="$PASSWORD" "$tools/perf/bin/python" scripts/perf/pyclient.py --url "$2" --username "$USERNAME" \
    --concurrency "$CONCURRENCY" --requests "$REQUESTS" --duration "$DURATION" --procs 2 --projects "$PROJECTS" >"$work/$1.json"
}
has_bench() { "$PYPICTL" bench --help >/dev/null 2>&1; }
bench() { # NAME URL
  PYPICTL_BENCH_PASSWORD="$PASSWORD" /usr/bin/time -f '%U %S' -o "$work/$1.time" "$PYPICTL" bench --url "$2" --username "$USERNAME" \
    --workload burst --concurrency "$CONCURRENCY" --requests "$REQUESTS" --duration "${DURATION}s" --output json >"$work/$1.json"
}
load() { if has_bench; then bench "$@"; else client "$@"; fi; }

genpw() { python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40)))'; }
# The read credential (the loads, the reads) and the publish one (uploads),
# as the containers receive them (scripts/perf/container.py).
USERNAME="pypi"
PASSWORD="$(genpw)"
PUBLISH_USERNAME="pypi-publish"
PUBLISH_PASSWORD="$(genpw)"
export PERF_READ_USERNAME="$USERNAME" PERF_READ_PASSWORD="$PASSWORD" PERF_USERNAME="$PUBLISH_USERNAME" PERF_PASSWORD="$PUBLISH_PASSWORD"
packages="$work/packages"
python3 scripts/perf/gen_packages.py "$packages" "$PROJECTS"
echo "perf.sh: $PROJECTS projects, $(ls "$packages" | wc -l) files; $(has_bench && echo 'load: pypictl bench' || echo 'load: Python client (pypictl bench not on this branch)')" >&2

# 1a. The reference configuration.
"$tools/perf/bin/python" -c 'import sys; from passlib.apache import HtpasswdFile; h = HtpasswdFile(sys.argv[1], new=True, default_scheme="bcrypt"); h.set_password(sys.argv[2], sys.argv[3]); h.save()' \
  "$work/ref.htpasswd" "$USERNAME" "$PASSWORD"
grep -q ':\$2[aby]\$12\$' "$work/ref.htpasswd"
ref_ports=()
for r in a b; do
  p="$(freeport)"; ref_ports+=("$p")
  start "$work/ref-$r.log" env GUNICORN_CMD_ARGS="--workers 4 --worker-class gevent" "$tools/perf/bin/pypi-server" run -p "$p" --host 127.0.0.1 \
    --server gunicorn --backend simple-dir --authenticate download,list,update -P "$work/ref.htpasswd" --disable-fallback "$packages"
done
lbp="$(freeport)"; lb "$lbp" "${ref_ports[@]}"
for p in "${ref_ports[@]}" "$lbp"; do wait_ok "http://127.0.0.1:$p/health"; done
echo "perf.sh: reference burst" >&2
load reference "http://127.0.0.1:$lbp"
stop_all

# 1b. pypictl's configuration, started from the synthesized task definition.
"$PYPICTL" synth -c fixtures/examples/heavy.toml -o "$work/out" >/dev/null
tpl="$work/out/service.template.json"
pp_ports=(); px_ports=()
for r in a b; do
  p="$(freeport)"; x="$(freeport)"; pp_ports+=("$p"); px_ports+=("$x"); mkdir -p "$work/pp-$r" "$work/px-$r"
  start "$work/pp-$r.log" env PATH="$tools/pypi/bin:/usr/bin:/bin" HOME="$work/pp-$r" "$tools/perf/bin/python" scripts/perf/container.py "$tpl" pypiserver \
    PYPISERVER_HOST=127.0.0.1 PYPISERVER_PORT="$p" PACKAGES_DIR="$packages"
done
for p in "${pp_ports[@]}"; do wait_ok "http://127.0.0.1:$p/health"; done
for i in 0 1; do
  r=$([[ $i == 0 ]] && echo a || echo b)
  # Each task's page indexer, writing its task's pages volume.
  mkdir -p "$work/pages-$r"
  start "$work/ix-$r.log" env PATH="$tools/pypi/bin:/usr/bin:/bin" HOME="$work/pp-$r" "$tools/perf/bin/python" scripts/perf/container.py "$tpl" indexer \
    PACKAGES_DIR="$packages" PAGES_DIR="$work/pages-$r"
  start "$work/px-$r.log" env PATH="$(dirname "$nginx"):/usr/bin:/bin" "$tools/perf/bin/python" scripts/perf/container.py "$tpl" proxy \
    PROXY_HOST=127.0.0.1 PROXY_PORT="${px_ports[$i]}" UPSTREAM="127.0.0.1:${pp_ports[$i]}" PACKAGES_DIR="$packages" RUN_DIR="$work/px-$r" \
    PAGES_DIR="$work/pages-$r" UPLOAD_BUFFER_DIR="$packages/.incoming"
done
lbp="$(freeport)"; lb "$lbp" "${px_ports[@]}"
for p in "${px_ports[@]}" "$lbp"; do wait_ok "http://127.0.0.1:$p/health"; done
# Both indexers have published their pages (the task serves through
# pypiserver until then).
for p in "${px_ports[@]}"; do
  for _ in $(seq 300); do
    curl -s -o /dev/null -D - --max-time 5 -u "$USERNAME:$PASSWORD" "http://127.0.0.1:$p/simple/" | grep -qi '^x-pypictl-page: static' && break
    sleep 0.2
  done
done
echo "perf.sh: pypictl burst" >&2
load pypictl "http://127.0.0.1:$lbp"
# The same burst again: pages cached once (stale copies served while one
# request per page refreshes them).
echo "perf.sh: pypictl burst, warm" >&2
load pypictl-warm "http://127.0.0.1:$lbp"

# Upload through replica A, time until replica B lists it (B's cache primed
# with the 404 first).
proj="$work/probe"; mkdir -p "$proj"
printf '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "perf-visibility-probe"\nversion = "1.0.0"\n[tool.setuptools]\npy-modules = ["perf_visibility_probe"]\n' >"$proj/pyproject.toml"
echo 'X = 1' >"$proj/perf_visibility_probe.py"
(cd "$proj" && HOME="$work" "$tools/pypi/bin/python" -m build --no-isolation --wheel --outdir "$proj/dist" . >/dev/null 2>&1)
curl -s -o /dev/null -u "$USERNAME:$PASSWORD" "http://127.0.0.1:${px_ports[1]}/simple/perf-visibility-probe/"
HOME="$work" "$tools/pypi/bin/twine" upload --non-interactive --disable-progress-bar --repository-url "http://127.0.0.1:${px_ports[0]}/" \
  -u "$PUBLISH_USERNAME" -p "$PUBLISH_PASSWORD" "$proj"/dist/*.whl >/dev/null 2>&1
t0="$(date +%s.%N)"; visible=""
for _ in $(seq 200); do
  if curl -s --max-time 5 -u "$USERNAME:$PASSWORD" "http://127.0.0.1:${px_ports[1]}/simple/perf-visibility-probe/" | grep -q perf_visibility_probe; then
    visible="$(python3 -c "print(round(($(date +%s.%N) - $t0) * 1000))")"; break
  fi
  sleep 0.05
done
echo "{\"upload_visible_ms\": ${visible:-null}}" >"$work/visibility.json"

# 2. pypictl bench vs the Python client, same target, same concurrency.
if has_bench; then
  echo "perf.sh: client comparison" >&2
  bench bench-client "http://127.0.0.1:$lbp"
fi
client python-client "http://127.0.0.1:$lbp"
stop_all

# 3. pypictl synth, cold process.
for i in 1 2 3; do
  /usr/bin/time -v "$PYPICTL" synth -c fixtures/examples/heavy.toml -o "$work/synth-$i" >/dev/null 2>"$work/synth-$i.time"
done
"$tools/perf/bin/python" scripts/perf/table.py "$work" "$PYPICTL"
