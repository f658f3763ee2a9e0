# Warnings, sanitizers and architecture detection for every project target.

set(NF_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wcast-align
    -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  list(REMOVE_ITEM NF_WARNING_FLAGS -Wshadow=local)
  list(APPEND NF_WARNING_FLAGS -Wshadow-uncaptured-local)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 (seen on aarch64) reports Asio's coroutine-frame operator new/delete
  # pair as mismatched: a false positive on code that is not ours.
  list(APPEND NF_WARNING_FLAGS -Wno-mismatched-new-delete)
endif()
if(NF_WERROR)
  list(APPEND NF_WARNING_FLAGS -Werror)
endif()
add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${NF_WARNING_FLAGS}>")

if(NF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
else()
  # Every function and datum in its own section, so that the linker drops
  # what a program never references: a program links whole object files of
  # nf::core, and the code it maps counts in nf-agent's resident memory
  # (docs/benchmarks.md#agent). Left out of sanitizer builds, where it buys
  # nothing.
  add_compile_options(-ffunction-sections -fdata-sections)
  add_link_options(LINKER:--gc-sections)
endif()

# Target architecture, for ISA-specific kernel files.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(NF_ARCH "x86_64")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(NF_ARCH "aarch64")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
  set(NF_ARCH "arm")
else()
  set(NF_ARCH "generic")
endif()
message(STATUS "NeuroFabric: target architecture ${NF_ARCH}, compiler ${CMAKE_CXX_COMPILER_ID} "
               "${CMAKE_CXX_COMPILER_VERSION}")
