#!/bin/sh
# embedding.sh [BUILD]: resolve() of a 10-instance role through C++, the
# C API, Python and Rust, in one run, against the build tree's libmuster
# (BUILD defaults to build/). Prints median ns per call and the ratio of
# each to the C++ resolve. The figures go to bench/README.md, "Embedding".
set -eu
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
lib=$(dirname "$(find "$build" -name libmuster.so.1 | head -1)")
out=$("$build/bin/muster-bench-client")
echo "$out"
cpp=$(echo "$out" | awk '/C\+\+ Registry::resolve/ {print $(NF-1)}')
py=$(cd bindings/python && MUSTER_LIBRARY="$lib/libmuster.so.1" python3 bench_resolve.py | awk '{print $2}')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r bindings/rust "$work/rust"
rs=$(cd "$work/rust" && CARGO_HOME="$work/cargo" MUSTER_LIB_DIR="$lib" cargo run -q --offline --release \
    --example bench_resolve 2>/dev/null | awk '{print $2}')
row() { awk -v what="$1" -v ns="$2" -v cpp="$cpp" 'BEGIN { printf "  %-58s %12s ns  %.0fx C++\n", what, ns, ns / cpp }'; }
row "Python Client.resolve (a list of Instance)" "$py"
row "Rust Client::resolve (a Snapshot of owned Instances)" "$rs"
