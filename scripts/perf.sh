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
#     pypictl's again with UPLOADS uploads in a row during the burst, then
#     whether both replicas still serve static pages; the upload -> listed
#     time on the other replica (a new project, a new version);
#  2. `pypictl bench` vs a plain Python requests + thread-pool client;
#  3. `pypictl synth` of the heavy example: cold-process wall time, peak RSS;
#  4. PEP 658: uv and pip resolving and installing a 50-wheel dependency
#     tree from pypictl's index without and with METADATA files: wall time,
#     bytes and requests served;
#  5. the page indexer alone at SCALE_PROJECTS projects (4 files each):
#     memory + pages against the template's limits, CPU at steady state.
# pypictl's configuration is the heavy example sized for PROJECTS
# (service.expected_projects), each task's pages volume a real tmpfs of the
# template's size (a mount namespace per replica, scripts/perf/task_pages.sh).
# Everything on 127.0.0.1, every load bounded in count and time.
# Env: REQUESTS (per run, default 2040), CONCURRENCY (510), DURATION (60 s
# cap on issuing), PROJECTS (500; the scale mode: 10000), UPLOADS (100),
# SCALE_PROJECTS (50000; 0 skips 5), PYPICTL (binary; default: cargo build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="$(bash scripts/tools.sh)"
nginx="$(PYPICTL_TOOLS="$tools" bash scripts/nginx.sh)"
REQUESTS="${REQUESTS:-2040}" CONCURRENCY="${CONCURRENCY:-510}" DURATION="${DURATION:-60}" PROJECTS="${PROJECTS:-500}"
UPLOADS="${UPLOADS:-100}" SCALE_PROJECTS="${SCALE_PROJECTS:-50000}"
export CONCURRENCY PROJECTS
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
lb() { # PORT UPSTREAM_PORT... : round-robin stand-in for the ALB (ACCESS_LOG: "<bytes sent> <URI>" per request)
  local port="$1"; shift; local d="$work/lb-$port"; mkdir -p "$d"
  local log="access_log off;"
  [[ -z "${ACCESS_LOG:-}" ]] || log="log_format sent '\$bytes_sent \$uri'; access_log $ACCESS_LOG sent;"
  { echo "worker_processes 1; pid $d/pid; events { worker_connections 4096; }"
    echo "http { $log client_body_temp_path $d/b; proxy_temp_path $d/p; fastcgi_temp_path $d/f; uwsgi_temp_path $d/u; scgi_temp_path $d/s;"
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

jfield() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }  # FILE KEY
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

# 1b. pypictl's configuration, started from the synthesized task definition
# (the heavy example, sized for PROJECTS).
{ cat fixtures/examples/heavy.toml; printf '\n[service]\nexpected_projects = %s\n' "$PROJECTS"; } >"$work/perf.toml"
"$PYPICTL" synth -c "$work/perf.toml" -o "$work/out" >/dev/null
tpl="$work/out/service.template.json"
pages_mib="$(python3 -c 'import json, re, sys
v = [v for v in json.load(open(sys.argv[1]))["Resources"]["TaskDefinition"]["Properties"]["Volumes"] if v["Name"] == "pages"][0]
print(re.search(r"size=(\d+)m", v["DockerVolumeConfiguration"]["DriverOpts"]["o"]).group(1))' "$tpl")"
echo "{\"pages_mib\": $pages_mib}" >"$work/pages.json"
pypiserver_replica() { # NAME PORT PACKAGES
  mkdir -p "$work/pp-$1"
  start "$work/pp-$1.log" env PATH="$tools/pypi/bin:/usr/bin:/bin" HOME="$work/pp-$1" "$tools/perf/bin/python" scripts/perf/container.py "$tpl" pypiserver \
    PYPISERVER_HOST=127.0.0.1 PYPISERVER_PORT="$2" PACKAGES_DIR="$3"
}
proxy_replica() { # NAME PORT PYPISERVER_PORT PACKAGES: the task's indexer and proxy sharing a real tmpfs pages volume
  mkdir -p "$work/px-$1" "$work/pages-$1"
  start "$work/px-$1.log" env PATH="$(dirname "$nginx"):$tools/pypi/bin:/usr/bin:/bin" HOME="$work/pp-$1" PAGES_MIB="$pages_mib" PAGES_DIR="$work/pages-$1" \
    TEMPLATE="$tpl" PACKAGES_DIR="$4" INDEXER_LOG="$work/ix-$1.log" PERF_PYTHON="$tools/perf/bin/python" \
    unshare -rm /bin/sh scripts/perf/task_pages.sh "$tools/perf/bin/python" scripts/perf/container.py "$tpl" proxy \
    PROXY_HOST=127.0.0.1 PROXY_PORT="$2" UPSTREAM="127.0.0.1:$3" PACKAGES_DIR="$4" RUN_DIR="$work/px-$1" \
    PAGES_DIR="$work/pages-$1" UPLOAD_BUFFER_DIR="$4/.incoming"
}
wait_static() { # PORT: the indexer has published its pages (the task serves through pypiserver until then)
  for _ in $(seq 600); do
    curl -s -o /dev/null -D - --max-time 5 -u "$USERNAME:$PASSWORD" "http://127.0.0.1:$1/simple/" | grep -qi '^x-pypictl-page: static' && return 0
    sleep 0.2
  done
  echo "perf.sh: the indexer behind port $1 published nothing" >&2; exit 1
}
pp_ports=(); px_ports=()
for r in a b; do
  p="$(freeport)"; x="$(freeport)"; pp_ports+=("$p"); px_ports+=("$x")
  pypiserver_replica "$r" "$p" "$packages"
done
for p in "${pp_ports[@]}"; do wait_ok "http://127.0.0.1:$p/health"; done
for i in 0 1; do
  r=$([[ $i == 0 ]] && echo a || echo b)
  proxy_replica "$r" "${px_ports[$i]}" "${pp_ports[$i]}" "$packages"
done
lbp="$(freeport)"; lb "$lbp" "${px_ports[@]}"
for p in "${px_ports[@]}" "$lbp"; do wait_ok "http://127.0.0.1:$p/health"; done
for p in "${px_ports[@]}"; do wait_static "$p"; done
echo "perf.sh: pypictl burst" >&2
load pypictl "http://127.0.0.1:$lbp"
# The same burst again: pages cached once (stale copies served while one
# request per page refreshes them).
echo "perf.sh: pypictl burst, warm" >&2
load pypictl-warm "http://127.0.0.1:$lbp"

# The same burst with UPLOADS uploads in a row through the load balancer
# meanwhile (the reference's stress test mixes uploads into its bursts);
# then whether both replicas still answer from their static pages, the last
# upload listed.
echo "perf.sh: pypictl burst with $UPLOADS uploads" >&2
"$tools/perf/bin/python" scripts/perf/uploads.py "http://127.0.0.1:$lbp/" "$UPLOADS" "$PROJECTS" >"$work/uploads.json" &
uploader=$!
load pypictl-uploads "http://127.0.0.1:$lbp"
wait "$uploader"
last_file="$(jfield "$work/uploads.json" last_file)"
last_project="$(jfield "$work/uploads.json" last_project)"
static_after=()
for p in "${px_ports[@]}"; do
  ok=false
  for _ in $(seq 100); do
    page="$(curl -s -D - --max-time 5 -u "$USERNAME:$PASSWORD" "http://127.0.0.1:$p/simple/$last_project/")"
    if grep -qi '^x-pypictl-page: static' <<<"$page" && grep -q "$last_file" <<<"$page"; then ok=true; break; fi
    sleep 0.1
  done
  static_after+=("$ok")
done
echo "{\"static_a\": ${static_after[0]}, \"static_b\": ${static_after[1]}}" >"$work/static-after-uploads.json"

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
# A new version of an existing project (its static page published on B):
# listed by B's static page.
PERF_USERNAME="$PUBLISH_USERNAME" PERF_PASSWORD="$PUBLISH_PASSWORD" \
  "$tools/perf/bin/python" scripts/perf/uploads.py "http://127.0.0.1:${px_ports[0]}/" 1 "$PROJECTS" 3.0 >"$work/version-upload.json"
version_file="$(jfield "$work/version-upload.json" last_file)"
version_project="$(jfield "$work/version-upload.json" last_project)"
t0="$(date +%s.%N)"; version_visible=""
for _ in $(seq 200); do
  page="$(curl -s -D - --max-time 5 -u "$USERNAME:$PASSWORD" "http://127.0.0.1:${px_ports[1]}/simple/$version_project/")"
  if grep -qi '^x-pypictl-page: static' <<<"$page" && grep -q "$version_file" <<<"$page"; then
    version_visible="$(python3 -c "print(round(($(date +%s.%N) - $t0) * 1000))")"; break
  fi
  sleep 0.05
done
echo "{\"upload_visible_ms\": ${visible:-null}, \"version_visible_ms\": ${version_visible:-null}}" >"$work/visibility.json"

# 2. pypictl bench vs the Python client, same target, same concurrency.
if has_bench; then
  echo "perf.sh: client comparison" >&2
  bench bench-client "http://127.0.0.1:$lbp"
fi
client python-client "http://127.0.0.1:$lbp"

# 4. PEP 658: a 50-wheel dependency tree (1 MiB each) uploaded through
# replica A (pypiserver records each wheel's METADATA); "after": replica A
# as it is; "before": a replica on a copy of the same directory whose
# records carry no METADATA (the pages announce none), same server.
echo "perf.sh: PEP 658 before / after" >&2
"$tools/perf/bin/python" scripts/perf/gen_tree.py "$work/tree" 50 1024
HOME="$work" "$tools/pypi/bin/twine" upload --non-interactive --disable-progress-bar --repository-url "http://127.0.0.1:${px_ports[0]}/" \
  -u "$PUBLISH_USERNAME" -p "$PUBLISH_PASSWORD" "$work/tree"/*.whl >/dev/null
cp -al "$packages" "$work/packages-before"
for record in "$work/packages-before/.digests"/perftree_*.sha256; do
  fields="$(cat "$record")"; rm -f "$record"
  awk '{ print $1, $2, "-", $4 }' <<<"$fields" >"$record"
done
rm -f "$work/packages-before/.digests"/perftree_*.metadata "$work/packages-before/.changes.log"
bp="$(freeport)"; bx="$(freeport)"
pypiserver_replica before "$bp" "$work/packages-before"
wait_ok "http://127.0.0.1:$bp/health"
proxy_replica before "$bx" "$bp" "$work/packages-before"
wait_ok "http://127.0.0.1:$bx/health"; wait_static "$bx"
after_lb="$(freeport)"; ACCESS_LOG="$work/after.access" lb "$after_lb" "${px_ports[0]}"
before_lb="$(freeport)"; ACCESS_LOG="$work/before.access" lb "$before_lb" "$bx"
wait_ok "http://127.0.0.1:$after_lb/health"; wait_ok "http://127.0.0.1:$before_lb/health"
for p in "${px_ports[0]}" "$bx"; do  # both indexers list the whole tree
  for _ in $(seq 100); do
    curl -s --max-time 5 -u "$USERNAME:$PASSWORD" "http://127.0.0.1:$p/simple/perftree-049/" | grep -q 'perftree_049' && break
    sleep 0.2
  done
done
urlpw="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PASSWORD")"
"$tools/perf/bin/python" scripts/perf/metadata.py "$tools" "$work" perftree-000 \
  "before=http://$USERNAME:$urlpw@127.0.0.1:$before_lb/simple/,$work/before.access" \
  "after=http://$USERNAME:$urlpw@127.0.0.1:$after_lb/simple/,$work/after.access" >"$work/metadata.json"
stop_all

# 3. pypictl synth, cold process.
for i in 1 2 3; do
  /usr/bin/time -v "$PYPICTL" synth -c fixtures/examples/heavy.toml -o "$work/synth-$i" >/dev/null 2>"$work/synth-$i.time"
done
# 5. The page indexer alone at SCALE_PROJECTS projects, its template sized
# for them.
if [[ "$SCALE_PROJECTS" != 0 ]]; then
  echo "perf.sh: the indexer at $SCALE_PROJECTS projects" >&2
  { cat fixtures/examples/heavy.toml; printf '\n[service]\ncontainer_memory = 2048\nexpected_projects = %s\n' "$SCALE_PROJECTS"; } >"$work/scale.toml"
  "$PYPICTL" synth -c "$work/scale.toml" -o "$work/scale-out" >/dev/null
  mkdir -p "$work/scale"
  PATH="$tools/pypi/bin:/usr/bin:/bin" "$tools/perf/bin/python" scripts/perf/index_scale.py "$work/scale-out/service.template.json" "$work/scale" "$SCALE_PROJECTS" >"$work/scale.json"
fi
"$tools/perf/bin/python" scripts/perf/table.py "$work" "$PYPICTL"
