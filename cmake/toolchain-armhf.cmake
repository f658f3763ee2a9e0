# Optional: cross build for 32-bit Raspberry Pi OS / Debian 12 armhf.
#
#   scripts/setup_cross.sh armhf
#   cmake -S . -B build/armhf -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake
#
# Debian's armhf baseline is ARMv7-A with VFPv3-D16 and no NEON (every Pi from
# the Pi 2 on has NEON): the tree keeps Debian's baseline, so NEON kernel files
# must ask for -mfpu=neon themselves. Not exercised by scripts/test.sh.
set(NF_CROSS_TRIPLET arm-linux-gnueabihf)
set(NF_CROSS_PROCESSOR armv7l)
set(NF_CROSS_QEMU qemu-arm)
set(NF_CROSS_SYSROOT_NAME sysroot-armhf)
include(${CMAKE_CURRENT_LIST_DIR}/NfCrossToolchain.cmake)
