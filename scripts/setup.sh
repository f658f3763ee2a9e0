#!/usr/bin/env bash
# Installs everything NeuroFabric needs from Debian 12 packages, and nothing
# else. Idempotent: when every package is already installed it does no apt
# work at all and returns in well under a second.
#
#   scripts/setup.sh            build, test and run dependencies
#   NF_SETUP_EXTRA="a b" ...    additional packages (used by optional jobs)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-14 clang-format-14
  libclang-rt-14-dev
  # libraries the project is built on
  libflatbuffers-dev flatbuffers-compiler doctest-dev libasio-dev
  libmbedtls-dev libxnnpack-dev libpthreadpool-dev zlib1g-dev
  libcli11-dev libtomlplusplus-dev
  # the real data set
  dataset-fashion-mnist
  # interoperability peers for the TLS tests, GNU time for footprints
  openssl time
  # nf-sim-mpi: the simulation over MPI ranks
  libopenmpi-dev openmpi-bin
  # headless browser for the aggregator's live-page test
  chromium
)
if [[ -n "${NF_SETUP_EXTRA:-}" ]]; then
  read -r -a extra <<<"${NF_SETUP_EXTRA}"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: error: must run as root to install packages (try: sudo $0)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -q >/tmp/nf-apt-update.log 2>&1; then
  echo "setup: error: 'apt-get update' failed; is the Debian package archive reachable?" >&2
  tail -n 5 /tmp/nf-apt-update.log >&2
  exit 1
fi
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  echo "setup: error: could not install: ${missing[*]}" >&2
  exit 1
fi
echo "setup: done"
