#!/usr/bin/env bash
# The main job: deploy pypictl's stress-tested "heavy" example against a local
# AWS emulator (moto's server with pypictl's harness, on 127.0.0.1), show its
# status, deploy again (no changes), and stop the emulator.
#
#   bash scripts/demo.sh            # as above
#   KEEP=1 bash scripts/demo.sh     # leave the emulator running (scripts/moto.sh stop)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Compile while the tools install: on a fresh machine each takes minutes.
build_log="$(mktemp)"
cargo build --locked --quiet >"$build_log" 2>&1 &
build=$!
PYPICTL_TOOLS="$(bash scripts/tools.sh)"
export PYPICTL_TOOLS
if ! wait "$build"; then
  cat "$build_log" >&2
  exit 1
fi

bash scripts/moto.sh stop >/dev/null 2>&1 || true
url="$(bash scripts/moto.sh start)"
[[ "${KEEP:-}" == 1 ]] || trap 'bash scripts/moto.sh stop >/dev/null 2>&1 || true' EXIT
echo "AWS emulator: $url"

# The account a user has before deploying: VPC, subnets, internet gateway, hosted zone.
work="$(mktemp -d)"
"$PYPICTL_TOOLS/moto/bin/python" scripts/moto/seed.py "$url" > "$work/seed.json"
"$PYPICTL_TOOLS/moto/bin/python" - "$work/seed.json" fixtures/examples/heavy.toml "$work/pypictl.toml" <<'PY'
import json, re, sys
seed = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
text = re.sub(r'^vpc_id = .*$', f'vpc_id = "{seed["vpc_id"]}"', text, flags=re.M)
text = re.sub(r'^load_balancer_subnets = .*$', 'load_balancer_subnets = ' + json.dumps(seed["load_balancer_subnets"]), text, flags=re.M)
text = re.sub(r'^asg_subnets = .*$', 'asg_subnets = ' + json.dumps(seed["asg_subnets"]), text, flags=re.M)
text = re.sub(r'^zone_id = .*$', f'zone_id = "{seed["zone_id"]}"', text, flags=re.M)
open(sys.argv[3], "w").write(text)
PY

export AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
# Everything on loopback: deploy's container-image check asks a closed port instead of Docker Hub
# and ECR Public, and says so with a warning ("registry ... no answer"); on AWS it asks the registries.
export PYPICTL_REGISTRY_URL=http://127.0.0.1:9
pypictl=./target/debug/pypictl

$pypictl size -c "$work/pypictl.toml"
$pypictl --yes deploy -c "$work/pypictl.toml"
$pypictl status -c "$work/pypictl.toml"
$pypictl --yes deploy -c "$work/pypictl.toml"
echo "Configuration used: $work/pypictl.toml"
