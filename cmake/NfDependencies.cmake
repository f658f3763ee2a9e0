# Every dependency comes from a Debian 12 package (scripts/setup.sh installs them)
# and is found the way that package installs it.

find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)

# FlatBuffers 2.0.8: CMake config (the case of "FlatBuffers" matters) and the
# flatc of the same package version.
find_package(FlatBuffers CONFIG REQUIRED)
if(TARGET flatbuffers::flatc AND NOT CMAKE_CROSSCOMPILING)
  set(NF_FLATC $<TARGET_FILE:flatbuffers::flatc>)
else()
  find_program(NF_FLATC_PROGRAM flatc REQUIRED)
  set(NF_FLATC ${NF_FLATC_PROGRAM})
endif()

# Asio 1.22, standalone and header-only.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(nf_asio INTERFACE)
target_include_directories(nf_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio picks aligned_alloc or operator new
# depending on whether a libstdc++ header came before its own, so two files
# could free each other's memory the wrong way (ASan: alloc-dealloc-mismatch).
target_compile_definitions(nf_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                             ASIO_DISABLE_STD_ALIGNED_ALLOC)
# Asio 1.22 looks for clang's coroutines in libc++'s <experimental/coroutine>
# only; with libstdc++ clang 14 has C++20 <coroutine>, so say so.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_definitions(nf_asio INTERFACE ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
endif()
target_link_libraries(nf_asio INTERFACE Threads::Threads)
add_library(nf::asio ALIAS nf_asio)

# mbedTLS 2.28 (no CMake config in Debian 12: plain libraries).
find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h REQUIRED)
find_library(MBEDTLS_LIBRARY mbedtls REQUIRED)
find_library(MBEDX509_LIBRARY mbedx509 REQUIRED)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto REQUIRED)
# libmbedtls-dev also ships static archives. A program whose target property
# NF_STATIC_MBEDTLS is true links those instead (nf-agent: only the mbedTLS
# code it uses then sits in its own pages, about 0.4 MB less resident memory
# with TLS; the price is a rebuild of the program for every mbedTLS security
# fix, docs/agent.md). The property is read from the program being linked,
# whichever library of ours brought mbedTLS in.
find_library(MBEDTLS_STATIC_LIBRARY libmbedtls.a)
find_library(MBEDX509_STATIC_LIBRARY libmbedx509.a)
find_library(MBEDCRYPTO_STATIC_LIBRARY libmbedcrypto.a)
add_library(nf_mbedtls INTERFACE)
target_include_directories(nf_mbedtls SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})
if(MBEDTLS_STATIC_LIBRARY AND MBEDX509_STATIC_LIBRARY AND MBEDCRYPTO_STATIC_LIBRARY)
  set(_nf_static_mbedtls "$<BOOL:$<TARGET_PROPERTY:NF_STATIC_MBEDTLS>>")
  foreach(lib IN ITEMS MBEDTLS MBEDX509 MBEDCRYPTO)
    target_link_libraries(nf_mbedtls INTERFACE
      "$<IF:${_nf_static_mbedtls},${${lib}_STATIC_LIBRARY},${${lib}_LIBRARY}>")
  endforeach()
else()
  message(STATUS "mbedTLS static archives not found: every program links the shared libraries")
  target_link_libraries(nf_mbedtls INTERFACE ${MBEDTLS_LIBRARY} ${MBEDX509_LIBRARY}
                                             ${MBEDCRYPTO_LIBRARY})
endif()
add_library(nf::mbedtls ALIAS nf_mbedtls)

# XNNPACK needs pthreadpool.h, which its Debian package does not pull in.
find_path(XNNPACK_INCLUDE_DIR xnnpack.h REQUIRED)
find_path(PTHREADPOOL_INCLUDE_DIR pthreadpool.h REQUIRED)
find_library(XNNPACK_LIBRARY XNNPACK REQUIRED)
find_library(PTHREADPOOL_LIBRARY pthreadpool REQUIRED)
add_library(nf_xnnpack INTERFACE)
target_include_directories(nf_xnnpack SYSTEM INTERFACE ${XNNPACK_INCLUDE_DIR}
                                                       ${PTHREADPOOL_INCLUDE_DIR})
target_link_libraries(nf_xnnpack INTERFACE ${XNNPACK_LIBRARY} ${PTHREADPOOL_LIBRARY}
                                           Threads::Threads)
add_library(nf::xnnpack ALIAS nf_xnnpack)

# Command lines and config files for the programs: CLI11 and toml++ from Debian,
# rather than hand-written parsers.
find_package(CLI11 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)

if(NF_BUILD_TESTS)
  find_package(doctest CONFIG REQUIRED)
endif()

# Fashion-MNIST from Debian's dataset-fashion-mnist.
set(NF_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
    CACHE PATH "Directory holding the Fashion-MNIST IDX files")
