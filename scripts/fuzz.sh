#!/bin/sh
# fuzz.sh [SECONDS]: builds the libFuzzer targets with clang in build-fuzz/
# and runs each for SECONDS (default 30) from tests/fuzz/corpus, on a copy
# of the corpus (new inputs are kept in build-fuzz/corpus-TARGET). Exits
# non-zero, with the crashing input saved, when a target fails.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-30}
echo "== building the fuzz targets (clang, libFuzzer, ASan+UBSan) in build-fuzz"
# shellcheck disable=SC2046
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMUSTER_FUZZ=ON \
    -DMUSTER_BUILD_TESTS=OFF -DMUSTER_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON \
    $(sh scripts/compiler-launcher.sh) >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target muster-fuzz-dns muster-fuzz-http muster-fuzz-config
for target in dns http config; do
    corpus="build-fuzz/corpus-$target"
    mkdir -p "$corpus"
    cp tests/fuzz/corpus/$target/* "$corpus/"
    echo "== fuzzing $target for ${seconds}s"
    UBSAN_OPTIONS=halt_on_error=1 ASAN_OPTIONS=detect_leaks=0 "build-fuzz/bin/muster-fuzz-$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="build-fuzz/crash-$target-" "$corpus" 2>"build-fuzz/fuzz-$target.log" ||
        { tail -40 "build-fuzz/fuzz-$target.log"; exit 1; }
    grep -E "stat::number_of_executed_units|stat::new_units_added" "build-fuzz/fuzz-$target.log" | tr '\n' ' '
    echo
done
