#!/bin/sh
# package.sh [DIR]: builds the Debian package muster_VERSION_ARCH.deb in DIR
# (default build/), configured for /usr (docs/embedding.md, "The Debian
# package"). Needs dpkg-dev (dpkg-shlibdeps) for the dependencies.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
sh scripts/build.sh "$dir" -DCMAKE_INSTALL_PREFIX=/usr
echo "== packaging in $dir"
# CPack warns that the plugins have no SONAME: they are modules, loaded by
# path, never linked; its log is shown only if packaging fails.
(cd "$dir" && rm -f muster_*.deb && { cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }; } && ls "$PWD"/muster_*.deb)
