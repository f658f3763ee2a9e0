#!/usr/bin/env bash
# Builds the libFuzzer target over frame decoding (clang, ASan+UBSan, coverage
# instrumentation on the libraries) and runs it for a bounded time, starting
# from a seed corpus of valid frames. Exits non-zero on any finding.
#   scripts/fuzz.sh [seconds] [build-dir]   (defaults: 60, build/fuzz)
# The build directory may be shared with the sanitizer unit tests
# (scripts/test.sh passes build/asan): both use scripts/configure_sanitize.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${2:-build/fuzz}
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))

scripts/configure_sanitize.sh "$build"
cmake --build "$build" -j "$jobs" --target nf_fuzz_frame nf_fuzz_seeds

corpus="$build/corpus"
mkdir -p "$corpus" "$build/findings"
"$build/fuzz/nf_fuzz_seeds" "$corpus"
echo "== fuzzing frame decoding for ${seconds} s"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/fuzz/nf_fuzz_frame" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -artifact_prefix="$build/findings/" -print_final_stats=1 "$corpus"
echo "fuzz: no finding in ${seconds} s"
