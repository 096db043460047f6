# The Debian package (cpack -G DEB in a tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr; scripts/package.sh): the library, headers,
# CMake and pkg-config files, plugins, muster-host and its systemd unit.
# Dependencies come from the binaries (dpkg-shlibdeps).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME muster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "muster developers <muster@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "service discovery over the stores you already run")
set(CPACK_PACKAGE_DESCRIPTION
    "muster registers service instances, heartbeats them and lists the live ones by role, over a chain of backend\n"
    "plugins (SQLite, PostgreSQL, NATS JetStream KV). This package holds muster-host, libmuster (the C client API),\n"
    "the plugins, the headers for applications and plugin writers, and the muster-host@.service unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The plugins are found beside the library and the program, not on the
# linker's path: dpkg-shlibdeps must look there too.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_BINARY_DIR}/${CMAKE_INSTALL_LIBDIR}")
# A shlibs file and the ldconfig trigger for libmuster.so.1.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_STRIP_FILES ON)  # the debug info stays in the build tree
include(CPack)
