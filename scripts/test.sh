#!/usr/bin/env bash
# Runs every test: installs the pinned tools, then the whole Rust test suite
# (unit tests, golden files, cfn-lint and checkov on every example, the
# container contract against a real pypiserver with pip and twine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PYPICTL_TOOLS="$(bash scripts/tools.sh)"
export PYPICTL_TOOLS
cargo test --workspace --locked "$@"
