#!/usr/bin/env bash
# The main job. Until `pypictl deploy` lands this synthesizes the heavy
# (stress-tested baseline) example and prints its capacity plan.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --locked --quiet
./target/debug/pypictl size -c fixtures/examples/heavy.toml
./target/debug/pypictl synth -c fixtures/examples/heavy.toml -o pypictl.out
