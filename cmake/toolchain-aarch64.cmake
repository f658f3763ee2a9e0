# Cross build for 64-bit Raspberry Pi OS / Debian 12 arm64 (Raspberry Pi 3, 4, 5):
#
#   scripts/setup_cross.sh
#   cmake -S . -B build/aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
#   cmake --build build/aarch64 && ctest --test-dir build/aarch64 -L unit   # under qemu
#
# armv8-a with NEON (Advanced SIMD is mandatory on aarch64): no -march needed.
set(NF_CROSS_TRIPLET aarch64-linux-gnu)
set(NF_CROSS_PROCESSOR aarch64)
set(NF_CROSS_QEMU qemu-aarch64)
set(NF_CROSS_SYSROOT_NAME sysroot-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/NfCrossToolchain.cmake)
