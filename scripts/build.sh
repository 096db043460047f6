#!/bin/sh
# build.sh [DIR] [cmake args...]: configures and builds muster in DIR
# (default build/), warnings as errors.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
echo "== building in $dir"
launcher=$(sh scripts/compiler-launcher.sh)
# shellcheck disable=SC2086
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMUSTER_WERROR=ON $launcher "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
