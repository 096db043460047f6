#!/bin/sh
# build.sh [DIR] [cmake args...]: configures and builds muster in DIR
# (default build/), warnings as errors.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
echo "== building in $dir"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMUSTER_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
