#!/usr/bin/env bash
# Installs the Python tools pypictl's tests use, at pinned versions, into
# virtualenvs under .tools/ (one per tool set, so their pins cannot clash):
#   .tools/lint  cfn-lint and checkov
#   .tools/pypi  pypiserver, pip, twine, build (container contract, bench)
#   .tools/moto  moto's server and boto3 (AWS emulator harness, scripts/moto/)
#   .tools/perf  pypiserver as the reference runs it (gevent, bcrypt) and the
#                Python load client (scripts/perf.sh)
#   .tools/nginx nginx for the proxy sidecar (scripts/nginx.sh)
# Idempotent: a venv is rebuilt only when its requirements file changes.
# Prints the .tools directory on stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${PYPICTL_TOOLS:-$root/.tools}"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
  echo "scripts/tools.sh: Python 3.9+ is required ($python)" >&2
  exit 1
fi

mkdir -p "$tools"
for set in lint pypi moto perf; do
  req="$root/scripts/requirements/$set.txt"
  venv="$tools/$set"
  stamp="$venv/.requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    continue
  fi
  echo "installing $set tools into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req" >&2
  echo "$want" > "$stamp"
done
PYPICTL_TOOLS="$tools" bash "$root/scripts/nginx.sh" >/dev/null
echo "$tools"
