#!/usr/bin/env bash
# Sets up the aarch64 (Raspberry Pi OS 64-bit / Debian 12 arm64) cross build:
# the Debian cross compiler, qemu-user to run the test suites, and a sysroot
# holding the arm64 builds of NeuroFabric's libraries.
#
# Everything comes from Debian 12 packages. The host tools are installed with
# apt (--no-install-recommends). The arm64 libraries are NOT installed: their
# -dev packages (libxnnpack-dev, libpthreadpool-dev...) cannot be co-installed
# with the amd64 ones, so they are fetched with `apt-get download` and unpacked
# with `dpkg -x` into the sysroot, together with the arm64 C/C++ runtime so that
# `qemu-aarch64 -L <sysroot>` runs the binaries as a Pi would.
#
# Idempotent: when the tools are there and the sysroot's stamp matches the
# package list below, it does no apt work and returns at once.
#
#   scripts/setup_cross.sh              aarch64 (default)
#   scripts/setup_cross.sh armhf        32-bit Raspberry Pi OS (optional)
#   NF_SYSROOT=/path scripts/setup_cross.sh   sysroot elsewhere
#                                       (default: build/sysroot-<arch>)
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-aarch64}
case "$arch" in
  aarch64)
    deb_arch=arm64
    triplet=aarch64-linux-gnu
    ;;
  armhf)
    deb_arch=armhf
    triplet=arm-linux-gnueabihf
    ;;
  *)
    echo "setup_cross: error: unknown architecture '$arch' (expected aarch64 or armhf)" >&2
    exit 2
    ;;
esac
sysroot=${NF_SYSROOT:-$PWD/build/sysroot-$arch}

host_packages=("g++-$triplet" qemu-user dpkg-dev)

# Unpacked into the sysroot. -dev packages for what the build links, the
# runtime libraries they and their own libraries need (libcpuinfo0 for XNNPACK),
# the header-only libraries (architecture "all": asio, CLI11, doctest, toml++'s
# headers come with its -dev), and the C/C++ runtime for qemu.
sysroot_packages=(
  libxnnpack-dev libxnnpack0 libpthreadpool-dev libpthreadpool0 libcpuinfo0
  zlib1g-dev zlib1g
  libmbedtls-dev libmbedtls14 libmbedx509-1 libmbedcrypto7
  libflatbuffers-dev libflatbuffers2
  libtomlplusplus-dev libtomlplusplus3
  libc6 libstdc++6 libgcc-s1
)
# Architecture "all": the same package as the host's.
indep_packages=(libasio-dev libcli11-dev doctest-dev)

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

as_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup_cross: error: must run as root to install packages (try: sudo $0)" >&2
    exit 1
  fi
}

apt_opts=(-q -o DPkg::Lock::Timeout=600)
apt_updated=0
apt_update() {
  [[ $apt_updated -eq 1 ]] && return 0
  if ! apt-get "${apt_opts[@]}" update >/tmp/nf-apt-update.log 2>&1; then
    echo "setup_cross: error: 'apt-get update' failed; is the Debian package archive reachable?" >&2
    tail -n 5 /tmp/nf-apt-update.log >&2
    exit 1
  fi
  apt_updated=1
}

# 1. Host tools.
missing=()
for p in "${host_packages[@]}"; do
  installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  as_root
  echo "setup_cross: installing ${#missing[@]} host package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_update
  if ! apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"; then
    echo "setup_cross: error: could not install: ${missing[*]}" >&2
    exit 1
  fi
fi

# 2. Sysroot. The stamp records the package list and the version of each
# package, so a changed list (or a Debian point release) refreshes it.
stamp="$sysroot/.nf-sysroot-stamp"
want="format 2: $arch ${sysroot_packages[*]} ${indep_packages[*]}"
if [[ -f "$stamp" ]] && [[ "$(head -n 1 "$stamp")" == "$want" ]]; then
  echo "setup_cross: $arch tools and sysroot present ($sysroot)"
  exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
  as_root
  echo "setup_cross: adding the $deb_arch architecture to dpkg (for apt-get download only)"
  dpkg --add-architecture "$deb_arch"
  apt_updated=0
  apt_update
fi

echo "setup_cross: building the $arch sysroot in $sysroot"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt's download sandbox user must be able to write here.
chmod 755 "$work"
specs=("${indep_packages[@]}")
for p in "${sysroot_packages[@]}"; do
  specs+=("$p:$deb_arch")
done
if ! (cd "$work" && apt-get "${apt_opts[@]}" download "${specs[@]}" >"$work/download.log" 2>&1); then
  # A stale package list names versions the archive no longer has.
  as_root
  apt_update
  if ! (cd "$work" && apt-get "${apt_opts[@]}" download "${specs[@]}" >"$work/download.log" 2>&1); then
    echo "setup_cross: error: could not download the $deb_arch packages:" >&2
    tail -n 5 "$work/download.log" >&2
    exit 1
  fi
fi

rm -rf "$sysroot.tmp"
mkdir -p "$sysroot.tmp"
: >"$sysroot.tmp/.nf-shlibs"
versions=()
for deb in "$work"/*.deb; do
  dpkg -x "$deb" "$sysroot.tmp"
  versions+=("$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)")
  # The shlibs control file maps a soname to the dependency a binary linked
  # against it needs; cmake/NfPackaging.cmake reads it instead of running
  # dpkg-shlibdeps, which only knows installed (amd64) packages.
  if dpkg-deb --info "$deb" shlibs >"$work/shlibs" 2>/dev/null; then
    cat "$work/shlibs" >>"$sysroot.tmp/.nf-shlibs"
  fi
done
# Packages ship absolute symlinks (libz.so -> /lib/...): make them relative,
# inside the sysroot, so the linker and qemu never pick the host's library.
while IFS= read -r link; do
  target=$(readlink "$link")
  if [[ "$target" == /* ]]; then
    ln -sfn "$(realpath -ms --relative-to="$(dirname "$link")" "$sysroot.tmp$target")" "$link"
  fi
done < <(find "$sysroot.tmp" -type l)
{
  echo "$want"
  printf '%s\n' "${versions[@]}"
} >"$sysroot.tmp/.nf-sysroot-stamp"
rm -rf "$sysroot"
mv "$sysroot.tmp" "$sysroot"
echo "setup_cross: $arch sysroot ready (${#versions[@]} packages) in $sysroot"
