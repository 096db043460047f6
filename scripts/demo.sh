#!/bin/sh
# The main job on the embedded SQLite default: installs what is missing,
# builds, then runs the seed's four roles (acceptor, writer, router,
# querier) in one muster-host, logging the live topology. Ctrl-C
# deregisters them all and exits.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
# build/ as scripts/test.sh configures it (prefix /usr, no sanitizer, no
# unity build), less the tests: every option set, whatever build/ held
# before, and what is built here is reused by the tests.
sh scripts/build.sh build -DCMAKE_INSTALL_PREFIX=/usr -DMUSTER_BUILD_TESTS=OFF -DMUSTER_BUILD_BENCH=OFF \
    -DMUSTER_SANITIZE=OFF -DMUSTER_SANITIZE_THREAD=OFF -DCMAKE_UNITY_BUILD=OFF
mkdir -p run
echo "== muster-host run --config docs/examples/monolith.toml (database: run/muster.db; Ctrl-C to stop)"
echo "== in another terminal: build/bin/muster-host list --config docs/examples/monolith.toml"
exec build/bin/muster-host run --config docs/examples/monolith.toml --watch '*'
