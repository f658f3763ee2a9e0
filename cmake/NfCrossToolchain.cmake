# Shared body of cmake/toolchain-<arch>.cmake: the Debian 12 cross compiler,
# a sysroot of unpacked arm packages (scripts/setup_cross.sh) and qemu-user
# as the emulator, so `ctest` runs the test executables under qemu.
#
# Expects NF_CROSS_TRIPLET, NF_CROSS_PROCESSOR, NF_CROSS_QEMU and
# NF_CROSS_SYSROOT_NAME to be set by the including toolchain file.
# The sysroot is -DNF_SYSROOT=..., else $ENV{NF_SYSROOT}, else
# <source>/build/sysroot-<arch> (where scripts/setup_cross.sh puts it).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${NF_CROSS_PROCESSOR})
set(CMAKE_LIBRARY_ARCHITECTURE ${NF_CROSS_TRIPLET})

if(NOT NF_SYSROOT)
  if(DEFINED ENV{NF_SYSROOT})
    set(NF_SYSROOT $ENV{NF_SYSROOT})
  else()
    get_filename_component(NF_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build/${NF_CROSS_SYSROOT_NAME}"
                           ABSOLUTE)
  endif()
endif()
# Toolchain files are read again for each try_compile: carry the choice along.
set(NF_SYSROOT "${NF_SYSROOT}" CACHE PATH "Sysroot of unpacked ${NF_CROSS_TRIPLET} packages")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES NF_SYSROOT)
if(NOT EXISTS "${NF_SYSROOT}/.nf-sysroot-stamp")
  message(FATAL_ERROR "No ${NF_CROSS_TRIPLET} sysroot at ${NF_SYSROOT}: run scripts/setup_cross.sh "
                      "(or pass -DNF_SYSROOT=<dir> made by it)")
endif()

# Debian's cross compilers (g++-aarch64-linux-gnu...). Their own C and C++
# runtimes live in /usr/<triplet>; the sysroot adds the libraries the project
# links, so no --sysroot flag: it would hide the cross compiler's headers.
set(CMAKE_C_COMPILER ${NF_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${NF_CROSS_TRIPLET}-g++)

# Libraries, headers and CMake packages come from the sysroot only (it also
# holds the architecture-independent asio, CLI11 and doctest packages), programs
# from the host (flatc).
set(CMAKE_FIND_ROOT_PATH "${NF_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The libraries' own dependencies (libcpuinfo for XNNPACK...) are found by the
# linker through -rpath-link, not linked directly.
set(_nf_sysroot_libs "${NF_SYSROOT}/usr/lib/${NF_CROSS_TRIPLET}")
set(_nf_rpath_link
    "-Wl,-rpath-link,${_nf_sysroot_libs} -Wl,-rpath-link,${NF_SYSROOT}/lib/${NF_CROSS_TRIPLET}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_nf_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_nf_rpath_link}")

# The sysroot also holds the target's libc, libstdc++ and dynamic loader, so
# `qemu -L <sysroot>` runs a binary as the device would.
find_program(NF_CROSS_QEMU_PROGRAM ${NF_CROSS_QEMU} ${NF_CROSS_QEMU}-static)
if(NF_CROSS_QEMU_PROGRAM)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${NF_CROSS_QEMU_PROGRAM};-L;${NF_SYSROOT}")
else()
  message(WARNING "${NF_CROSS_QEMU} not found (Debian package qemu-user): tests cannot run here")
endif()
