# The nf-agent Debian package (CPack DEB), for the Raspberry Pi (arm64, armhf)
# and any Debian 12 machine: the agent binary, its systemd unit, a default
# /etc/nf-agent/agent.toml (a conffile) and maintainer scripts that make the
# nf-agent system user. scripts/package_arm64.sh cross-builds and runs cpack.
#
#   NF_PACKAGE_PROGRAMS   targets installed to /usr/bin (default: nf-agent; a
#                         missing target is skipped, so `-DNF_PACKAGE_PROGRAMS=nf`
#                         tries the packaging before nf-agent exists)
#
# Dependencies: a native build lets dpkg-shlibdeps compute them. A cross build
# cannot (dpkg-shlibdeps only knows installed, i.e. amd64, packages), so at cpack
# time cmake/NfDebDepends.cmake maps each NEEDED soname of the packaged binaries
# to its Debian dependency through the shlibs files of the packages unpacked in
# the sysroot by scripts/setup_cross.sh: the same data dpkg-shlibdeps would use.

include(GNUInstallDirs)

set(NF_PACKAGE_PROGRAMS nf-agent CACHE STRING "Targets installed to /usr/bin by the nf-agent package")

set(_nf_packaged "")
foreach(program IN LISTS NF_PACKAGE_PROGRAMS)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT nf-agent)
    list(APPEND _nf_packaged ${program})
  else()
    message(STATUS "nf-agent package: no target '${program}' in this tree, not packaged")
  endif()
endforeach()
if(NOT _nf_packaged)
  # No stale package config from an earlier configure with other programs.
  file(REMOVE ${PROJECT_BINARY_DIR}/CPackConfig.cmake ${PROJECT_BINARY_DIR}/CPackSourceConfig.cmake)
  return()
endif()

# The package installs below /usr (CPACK_PACKAGING_INSTALL_PREFIX), except the
# config, which Debian keeps in /etc whatever the prefix: `cmake --install` of
# this component writes /etc/nf-agent too (use DESTDIR to stage it elsewhere).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/nf-agent.service
        DESTINATION lib/systemd/system COMPONENT nf-agent)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/agent.toml DESTINATION /etc/nf-agent
        COMPONENT nf-agent)
install(FILES ${PROJECT_SOURCE_DIR}/docs/raspberry-pi.md
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/nf-agent COMPONENT nf-agent)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nf-agent)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${NF_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NF_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "NeuroFabric device agent for federated learning")
set(CPACK_PACKAGE_DESCRIPTION
    "The NeuroFabric agent trains a priori sparse networks on the device's own data and\n"
    "sends only the nonzero parameter values to a NeuroFabric aggregator over mutual\n"
    "TLS. Runs as the systemd service nf-agent under its own system user.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL nf-agent)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The default config trains on the packaged Fashion-MNIST.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS dataset-fashion-mnist)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
# The maintainer scripts call adduser.
set(NF_PACKAGE_EXTRA_DEPENDS "adduser")

if(CMAKE_CROSSCOMPILING)
  if(NF_ARCH STREQUAL "aarch64")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
  elseif(NF_ARCH STREQUAL "arm")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE armhf)
  else()
    message(FATAL_ERROR "nf-agent package: no Debian architecture for ${CMAKE_SYSTEM_PROCESSOR}")
  endif()
  if(NOT NF_SYSROOT OR NOT EXISTS "${NF_SYSROOT}/.nf-shlibs")
    message(FATAL_ERROR "nf-agent package: cross build without a sysroot made by "
                        "scripts/setup_cross.sh (no shlibs to compute dependencies)")
  endif()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_NF_SYSROOT "${NF_SYSROOT}")
  set(CPACK_NF_READELF "${CMAKE_READELF}")
  set(CPACK_NF_EXTRA_DEPENDS "${NF_PACKAGE_EXTRA_DEPENDS}")
  set(CPACK_NF_BINARIES_FILE "${PROJECT_BINARY_DIR}/nf-package-binaries.txt")
  set(_nf_files "")
  foreach(program IN LISTS _nf_packaged)
    string(APPEND _nf_files "$<TARGET_FILE:${program}>\n")
  endforeach()
  file(GENERATE OUTPUT ${CPACK_NF_BINARIES_FILE} CONTENT "${_nf_files}")
  set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/NfDebDepends.cmake)
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${NF_PACKAGE_EXTRA_DEPENDS}")
endif()

include(CPack)
