#!/usr/bin/env bash
# Runs the AWS emulator of pypictl's deploy tests: moto's server with pypictl's
# extensions (scripts/moto/pypictl_moto.py), on 127.0.0.1 only.
#
#   scripts/moto.sh start [PORT]   start it in the background (a free port if none is given), wait
#                                  until it answers, print its endpoint (http://127.0.0.1:PORT)
#   scripts/moto.sh stop           stop it
#   scripts/moto.sh status         print the endpoint if it is running, else exit 1
#
# State lives in the tools directory (.tools/, or $PYPICTL_TOOLS): moto.pid, moto.url, moto.log
# (the server's log: requests, warnings about unsupported resources, tracebacks of 500s).
# Needs .tools/moto: `bash scripts/tools.sh` installs it.
# Environment passed to the server (it inherits this script's), read by pypictl_moto.py:
#   PYPICTL_MOTO_EVENT_PAGE_SIZE      DescribeStackEvents page size (default 100)
#   PYPICTL_MOTO_ECS_ROLLOUT_SECONDS  seconds until an ECS deployment's tasks count as running (default 3)
#   PYPICTL_MOTO_FAIL_RESOURCES       logical ids whose creation fails (the initial fail_create set)
#   PYPICTL_MOTO_ASYNC=1              stack operations run in the background, as on AWS: ExecuteChangeSet,
#                                     DeleteStack, ContinueUpdateRollback, ... return at once, the stack
#                                     reads *_IN_PROGRESS and its events appear over time
#   PYPICTL_MOTO_RESOURCE_SECONDS     in async mode, seconds per resource created, updated or deleted
#                                     (default 0.2)
# Faults can be changed while it runs: POST {"fail_create": [...], "fail_update": [...],
# "fail_rollback": [...]} to <endpoint>/_pypictl/faults (see pypictl_moto.py's docstring).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${PYPICTL_TOOLS:-$root/.tools}"
python="$tools/moto/bin/python"
pidfile="$tools/moto.pid"
urlfile="$tools/moto.url"
logfile="$tools/moto.log"

die() { echo "scripts/moto.sh: $*" >&2; exit 1; }

# The pid in the pid file, if that process is alive and is our server.
running_pid() {
  [[ -f "$pidfile" ]] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'pypictl_moto.py' || return 1
  echo "$pid"
}

start() {
  local port="${1:-0}"
  [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  [[ -x "$python" ]] || die "$python is missing: run \`bash scripts/tools.sh\` first"
  if pid="$(running_pid)"; then
    die "already running (pid $pid) at $(cat "$urlfile" 2>/dev/null || echo '?'): \`scripts/moto.sh stop\` first"
  fi
  mkdir -p "$tools"
  rm -f "$urlfile" "$pidfile"
  # setsid: the server outlives this shell and its process group. Not being a group leader here,
  # setsid execs in place, so $! is the server's own pid.
  setsid "$python" "$root/scripts/moto/pypictl_moto.py" --port "$port" --url-file "$urlfile" \
    </dev/null >"$logfile" 2>&1 &
  local pid=$!
  echo "$pid" > "$pidfile"
  # Wait until it has bound its port and answers HTTP (30 s at most).
  local deadline=$((SECONDS + 30))
  while (( SECONDS < deadline )); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      tail -n 30 "$logfile" >&2 || true
      die "the server exited during start-up (log: $logfile)"
    fi
    if [[ -s "$urlfile" ]] && "$python" - "$(cat "$urlfile")" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=2).read()
EOF
    then
      cat "$urlfile"
      return 0
    fi
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  tail -n 30 "$logfile" >&2 || true
  die "the server did not answer within 30 s (log: $logfile)"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pidfile" "$urlfile"
    echo "scripts/moto.sh: not running" >&2
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile" "$urlfile"
}

status() {
  running_pid >/dev/null || { echo "scripts/moto.sh: not running" >&2; return 1; }
  cat "$urlfile"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: scripts/moto.sh start [PORT] | stop | status" >&2; exit 2 ;;
esac
