#!/bin/sh
# The test command (README, .ci/run): installs what is missing, builds,
# starts a throwaway PostgreSQL, a nats-server with JetStream and an etcd on
# 127.0.0.1 on free ports (stopped on exit, also on failure), and runs every
# test: the format check, ctest on a normal build, ctest again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the threaded tests under
# ThreadSanitizer (each tree's tests beside the next tree's build), the
# fuzz targets briefly, the SDK examples built out of tree against the
# installed SDK and checked by the conformance suite, the embedding
# examples and bindings against the installed libmuster, and the Debian
# package. Exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."

# Each stage's time, printed at the end (also when a stage fails).
timings=$(mktemp)
stage_name="" stage_start=0
stage() {
    now=$(date +%s)
    [ -n "$stage_name" ] && printf '%-44s %5d s\n' "$stage_name" $((now - stage_start)) >>"$timings"
    stage_name=$1 stage_start=$now
}
report() {
    stage ""
    echo "== stage timings"
    cat "$timings"
    awk '{ total += $(NF - 1) } END { printf "%-44s %5d s\n", "total", total }' "$timings"
    rm -f "$timings"
}

stage "dependencies"
sh scripts/install-deps.sh
stage "format check"
sh scripts/check-format.sh

ctest_pid=""  # a ctest running in the background (ctest_in below)
servers=$(mktemp -d)
chmod 755 "$servers"  # the server runs as the postgres user
prefix=$(mktemp -d)
cleanup() {
    [ -n "$ctest_pid" ] && kill "$ctest_pid" 2>/dev/null
    report
    sh scripts/pg-stop.sh "$servers/pg"
    sh scripts/nats-stop.sh "$servers/nats"
    sh scripts/etcd-stop.sh "$servers/etcd"
    rm -rf "$servers" "$prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stage "servers (PostgreSQL, nats-server, etcd)"
sh scripts/pg-start.sh "$servers/pg"
sh scripts/nats-start.sh "$servers/nats"
sh scripts/etcd-start.sh "$servers/etcd"
set -a
. "$servers/pg/env"
. "$servers/nats/env"
. "$servers/etcd/env"
set +a

# ctest_in DIR NAME [ctest args]: ctest in DIR (every test of the tree, or
# those the args select) in the background, output in DIR/ctest.log; its
# pid in $ctest_pid. The tests mostly wait on servers and timeouts, so
# each tree's tests run while the next tree compiles: the suite must pass
# on a loaded machine anyway. ctest refuses to pass on no test.
ctest_in() {
    dir=$1 ctest_name=$2
    shift 2
    echo "== ctest ($ctest_name) in the background, output in $dir/ctest.log"
    (cd "$dir" && exec ctest -j "$(nproc)" --no-tests=error --output-on-failure --timeout 300 "$@") >"$dir/ctest.log" 2>&1 &
    ctest_pid=$!
}
# ctest_wait DIR: waits for that ctest; prints its summary, or all of it
# if it failed.
ctest_wait() {
    if wait "$ctest_pid"; then
        ctest_pid=""
        grep -E "tests passed|Total Test time" "$1/ctest.log"
    else
        ctest_pid=""
        cat "$1/ctest.log"
        echo "== ctest in $1 failed"
        exit 1
    fi
}

# Configured for /usr, the Debian package's prefix (test-package.sh below),
# with every option this script relies on set (build/ may have been
# configured otherwise, by demo.sh say).
stage "build (release)"
sh scripts/build.sh build -DCMAKE_INSTALL_PREFIX=/usr -DMUSTER_BUILD_TESTS=ON -DMUSTER_BUILD_BENCH=ON \
    -DMUSTER_SANITIZE=OFF -DMUSTER_SANITIZE_THREAD=OFF -DCMAKE_UNITY_BUILD=OFF
ctest_in build "release build"

# The sanitized trees are unity builds (CMAKE_UNITY_BUILD: a few files per
# compiler run, the heavy headers parsed once per batch), about half the
# compile time; the release tree above compiles each file alone, which
# keeps every file's includes honest.
stage "build (ASan+UBSan) beside ctest (release)"
sh scripts/build.sh build-asan -DMUSTER_SANITIZE=ON -DMUSTER_BUILD_TESTS=ON -DMUSTER_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON
stage "ctest (release), rest"
ctest_wait build
# intercept_tls_get_addr=0: GCC 12's sanitizer runtime mistakes some
# dynamic TLS blocks (those of the dlopen'd plugins) for a pre-2.25 glibc
# header, and LeakSanitizer's tracer then crashes at exit ("Tracer caught
# signal 11") after every test passed: seen once in chain.faults, a known
# runtime bug fixed after GCC 13.
export ASAN_OPTIONS=detect_leaks=1:intercept_tls_get_addr=0 LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1
# Not e2e.big_role: a scale test, whose 300,000-row answers take minutes
# under the sanitizers (108 s for one run) while its deadlines are those of a
# release build; the same code paths run there on small roles.
ctest_in build-asan "AddressSanitizer + UndefinedBehaviorSanitizer" -E '^e2e[.]big_role$'

# The threads (registry, link runners and probers, caches, watches,
# libmuster's callbacks, the agent) under ThreadSanitizer: the unit tests,
# the chain under server faults (kills, hangs, wiped stores), libmuster and
# the agent's HTTP and DNS tests against a muster-host under TSan (a report
# ends it: halt_on_error, and the test fails). The servers' client
# libraries are not instrumented; no report has come from them so far.
stage "build (TSan) beside ctest (ASan+UBSan)"
echo "== building in build-tsan (the threaded test programs and what they load or run)"
# shellcheck disable=SC2046
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMUSTER_WERROR=ON -DMUSTER_SANITIZE_THREAD=ON \
    -DMUSTER_BUILD_TESTS=ON -DMUSTER_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON $(sh scripts/compiler-launcher.sh) >/dev/null
cmake --build build-tsan -j "$(nproc)" --target muster-unit-tests muster-chain-tests muster-edge-tests \
    muster-client-tests muster-security-client-tests muster-host
stage "ctest (ASan+UBSan), rest"
ctest_wait build-asan
stage "ThreadSanitizer"
export TSAN_OPTIONS="halt_on_error=1 report_signal_unsafe=0 suppressions=$PWD/tests/tsan.supp"
ctest_in build-tsan "ThreadSanitizer" -R '^(unit|chain[.](faults|edges)|client|security[.]client|e2e[.]agent_(http|dns))$'
ctest_wait build-tsan

# The DNS and HTTP request paths and the configuration parser under
# libFuzzer, briefly (docs/agent.md has the longer runs and their results).
stage "fuzzing (build and 3 x 20 s)"
sh scripts/fuzz.sh 20

stage "SDK examples out of tree"
echo "== SDK examples, out of tree against the installed SDK"
cmake --install build --prefix "$prefix" >/dev/null
for example in hello-backend json-dir; do
    cmake -S "sdk/examples/$example" -B "$prefix/$example-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >/dev/null
    cmake --build "$prefix/$example-build"
done
# The installed programs find the installed plugins with no flags...
"$prefix/bin/muster-host" plugins | grep -q "^catalog-sqlite " || { echo "installed muster-host does not find its plugins"; exit 1; }
# ...the installed suite passes the out-of-tree plugins...
"$prefix/bin/muster-conformance" --plugin "$prefix/hello-backend-build/hello-backend.so"
"$prefix/bin/muster-conformance" --plugin "$prefix/json-dir-build/json-dir.so" --option dir="$prefix/json-dir-store"
# ...and the installed host chains one by its path, next to a bundled plugin.
"$prefix/bin/muster-host" list --chain "$prefix/json-dir-build/json-dir.so, memory" \
    --backend-option json-dir.dir="$prefix/json-dir-store" | grep -q "instance(s), from" ||
    { echo "the installed muster-host cannot chain an out-of-tree plugin by its path"; exit 1; }

# Applications embed the installed muster: README's example, C, Python, Rust.
stage "embedding (README, C, Python, Rust)"
sh scripts/test-embedding.sh "$prefix"
# The Debian package: built, checked, and (as root) installed and used.
stage "Debian package"
sh scripts/test-package.sh build
echo "== all tests passed"
