#!/usr/bin/env bash
# Sets up, builds and runs the main job: a federated simulation on
# Fashion-MNIST with built-in defaults. Extra arguments go to nf-sim
# (try: scripts/run.sh --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)" --target nf-sim >/dev/null
exec build/release/examples/nf-sim "$@"
