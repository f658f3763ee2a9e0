#!/usr/bin/env bash
# Cross-builds NeuroFabric for 64-bit Raspberry Pi OS / Debian 12 arm64 and
# makes the nf-agent Debian package, then shows what it holds and needs.
#
#   scripts/package_arm64.sh                  -> build/aarch64/nf-agent_<version>-1_arm64.deb
#   NF_PACKAGE_PROGRAMS=nf scripts/package_arm64.sh
#                                             package the `nf` command in place of nf-agent
#                                             (to try the packaging where nf-agent is not built)
#   NF_BUILD_DIR=build/pkg scripts/package_arm64.sh   another build directory
#   NF_CROSS_TARGETS="nf-agent nf_test_util" ...
#                                             build only these targets (default: all)
#   NF_PACKAGE_OPTIONAL=1 ...                 build only, and succeed, when no program
#                                             to package exists yet (scripts/test.sh)
#   NF_MAINTAINER="Jo Doe <jo@example.org>" ...
#                                             the package's Maintainer (CMake caches it)
#
# Install on the Pi with: sudo apt install ./nf-agent_<version>-1_arm64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NF_BUILD_DIR:-build/aarch64}
programs=${NF_PACKAGE_PROGRAMS:-nf-agent}
jobs=$(nproc)

scripts/setup_cross.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DNF_BUILD_BENCH=OFF \
  "-DNF_PACKAGE_PROGRAMS=$programs" ${NF_MAINTAINER:+"-DNF_MAINTAINER=$NF_MAINTAINER"} >/dev/null
if [[ -n "${NF_CROSS_TARGETS:-}" ]]; then
  read -r -a targets <<<"$NF_CROSS_TARGETS"
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
else
  cmake --build "$build" -j "$jobs"
fi

if [[ ! -f "$build/CPackConfig.cmake" ]]; then
  if [[ "${NF_PACKAGE_OPTIONAL:-0}" == 1 ]]; then
    echo "package_arm64: no '$programs' target in this tree yet: cross build only, no .deb"
    exit 0
  fi
  echo "package_arm64: error: none of the targets '$programs' exists in this tree, nothing to package" >&2
  echo "  (nf-agent comes with device_agent/; NF_PACKAGE_PROGRAMS=nf packages the nf command instead)" >&2
  exit 1
fi
rm -f "$build"/nf-agent_*_arm64.deb
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || {
  echo "package_arm64: error: cpack failed:" >&2
  tail -n 20 "$build/cpack.log" >&2
  exit 1
}
deb=$(ls "$build"/nf-agent_*_arm64.deb)
contents=$(dpkg-deb -c "$deb")
dpkg-deb -I "$deb"
echo "$contents"
# What apt on the Pi will check: the architecture, and a dependency on every
# shared library the binaries load (cmake/NfDebDepends.cmake fails otherwise).
arch=$(dpkg-deb -f "$deb" Architecture)
depends=$(dpkg-deb -f "$deb" Depends)
if [[ "$arch" != arm64 || "$depends" != *libc6* ]]; then
  echo "package_arm64: error: $deb: Architecture '$arch', Depends '$depends'" >&2
  exit 1
fi
if [[ "$contents" != *" ./usr/bin/"?* ]]; then
  echo "package_arm64: error: $deb holds no program" >&2
  exit 1
fi
echo "package_arm64: $deb"
