#!/bin/sh
# The test command (README, .ci/run): installs what is missing, builds,
# starts a throwaway PostgreSQL and a nats-server with JetStream on
# 127.0.0.1 on free ports (stopped on exit, also on failure), and runs every
# test: the format check, ctest on a normal build, ctest again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the core's threaded tests
# under ThreadSanitizer, the SDK examples built out of tree against the
# installed SDK and checked by the conformance suite, the embedding
# examples and bindings against the installed libmuster, and the Debian
# package. Exits non-zero on the first failure.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
sh scripts/check-format.sh

servers=$(mktemp -d)
chmod 755 "$servers"  # the server runs as the postgres user
prefix=$(mktemp -d)
cleanup() {
    sh scripts/pg-stop.sh "$servers/pg"
    sh scripts/nats-stop.sh "$servers/nats"
    rm -rf "$servers" "$prefix"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sh scripts/pg-start.sh "$servers/pg"
sh scripts/nats-start.sh "$servers/nats"
set -a
. "$servers/pg/env"
. "$servers/nats/env"
set +a

# Configured for /usr, the Debian package's prefix (test-package.sh below).
sh scripts/build.sh build -DCMAKE_INSTALL_PREFIX=/usr
echo "== ctest (release build)"
(cd build && ctest -j "$(nproc)" --output-on-failure --timeout 300)

sh scripts/build.sh build-asan -DMUSTER_SANITIZE=ON -DMUSTER_BUILD_BENCH=OFF
echo "== ctest (AddressSanitizer + UndefinedBehaviorSanitizer)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp" \
    UBSAN_OPTIONS=print_stacktrace=1 \
    ctest -j "$(nproc)" --output-on-failure --timeout 300)

# The core's threads (registry, link runners and probers, caches, watches)
# under ThreadSanitizer: the unit tests and the chain under server faults
# (kills, hangs, wiped stores). The
# servers' client libraries are not instrumented; no report has come from
# them so far.
echo "== building in build-tsan (the two test programs and what they load or run)"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMUSTER_WERROR=ON -DMUSTER_SANITIZE_THREAD=ON \
    -DMUSTER_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j "$(nproc)" --target muster-unit-tests muster-chain-tests muster-edge-tests
echo "== ThreadSanitizer: unit tests, chain faults and edges"
tsan="halt_on_error=1 report_signal_unsafe=0 suppressions=$PWD/tests/tsan.supp"
TSAN_OPTIONS=$tsan build-tsan/bin/muster-unit-tests
TSAN_OPTIONS=$tsan MUSTER_HOST="$PWD/build-tsan/bin/muster-host" build-tsan/bin/muster-chain-tests
TSAN_OPTIONS=$tsan build-tsan/bin/muster-edge-tests

# The DNS and HTTP request paths and the configuration parser under
# libFuzzer, briefly (docs/agent.md has the longer runs and their results).
sh scripts/fuzz.sh 20

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
sh scripts/test-embedding.sh "$prefix"
# The Debian package: built, checked, and (as root) installed and used.
sh scripts/test-package.sh build
echo "== all tests passed"
