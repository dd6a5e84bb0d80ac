#!/usr/bin/env bash
# Runs every test: installs the pinned tools, then the whole Rust test suite
# (unit tests, golden files, cfn-lint and checkov on every example, the
# container contract against a real pypiserver with pip and twine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Compile the tests while the tools install: on a fresh machine each takes minutes.
build_log="$(mktemp)"
cargo test --workspace --locked --no-run >"$build_log" 2>&1 &
build=$!
PYPICTL_TOOLS="$(bash scripts/tools.sh)"
export PYPICTL_TOOLS
if ! wait "$build"; then
  cat "$build_log" >&2
  exit 1
fi
cargo test --workspace --locked "$@"
