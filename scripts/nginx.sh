#!/usr/bin/env bash
# Installs nginx, at a pinned Debian bookworm build, into .tools/nginx without
# root: `apt-get download` fetches the .deb (checked against its pinned
# sha256), `dpkg -x` unpacks it. The contract test and scripts/perf.sh run the
# proxy sidecar's start script with this nginx (the task definition runs the
# official image; see stacks/src/proxy.rs). Idempotent. Prints the nginx
# binary's path on stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${PYPICTL_TOOLS:-$root/.tools}"
version="1.22.1-9+deb12u7"
sha256="28be5ecfbd760c554abbf759de86d027382d21e2890936edb28ed1053657318f"
dest="$tools/nginx"
bin="$dest/usr/sbin/nginx"
stamp="$dest/.version"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
  echo "$bin"
  exit 0
fi
echo "installing nginx $version into $dest" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download "nginx=$version" >&2) || {
  echo "scripts/nginx.sh: apt-get download nginx=$version failed (Debian bookworm sources with bookworm-security needed; run apt-get update)" >&2
  exit 1
}
deb="$(ls "$tmp"/nginx_*.deb)"
echo "$sha256  $deb" | sha256sum -c --quiet - >&2
rm -rf "$dest"
mkdir -p "$dest"
dpkg -x "$deb" "$dest"
"$bin" -v >&2
echo "$version" > "$stamp"
echo "$bin"
