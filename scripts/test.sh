#!/usr/bin/env bash
# Sets up, builds and runs every test: the formatting check, the unit suites
# under AddressSanitizer + UndefinedBehaviorSanitizer (Clang 14), 60 s of
# libFuzzer over frame decoding, then the
# aarch64 cross build with its unit suites under qemu and the nf-agent arm64
# .deb (scripts/package_arm64.sh), then the
# full build (GCC 12, warnings as errors) and every suite through ctest.
# Ends with ctest's summary; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh
scripts/check_format.sh

echo "== sanitizer build (clang-14, ASan+UBSan): unit suites"
scripts/configure_sanitize.sh build/asan
# Only what the unit suites need: the programs and integration suites are
# built (and run) by the release stage.
mapfile -t unit_targets < <(ctest --test-dir build/asan -N -L unit |
  sed -n 's/.*Test *#[0-9]*: //p' | grep -v '^layering$' | sed 's/^/nf_test_/')
cmake --build build/asan -j "$jobs" --target "${unit_targets[@]}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan -L unit --output-on-failure -j "$jobs"

echo "== fuzzing frame decoding (libFuzzer, ASan+UBSan) for 60 s"
scripts/fuzz.sh 60 build/asan

echo "== cross build (aarch64, g++-12 -Werror): unit suites under qemu-aarch64, nf-agent .deb"
cross_start=$SECONDS
NF_CROSS_TARGETS="nf-agent ${unit_targets[*]}" scripts/package_arm64.sh
ctest --test-dir build/aarch64 -L unit --output-on-failure -j "$jobs"
echo "== cross stage took $((SECONDS - cross_start)) s"

echo "== release build (g++-12, -Werror): every suite"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs"
