#!/bin/sh
# soak.sh [CYCLES] [soak.py options: --seed N, --processes N, --json]: the
# fault soak (docs/soak.md has the latest result). Starts a throwaway
# PostgreSQL and nats-server as scripts/test.sh does (stopped on exit),
# builds muster-host in build/ if it is not there, and runs scripts/soak.py:
# CYCLES (default 100) cycles of one random fault each, against a ledger.
# Exits 0 when nothing was lost, resurrected, falsely removed, crashed or
# leaked; 1 otherwise; 2 on a usage error.
set -eu
cd "$(dirname "$0")/.."
cycles=100
case "${1:-}" in
    [0-9]*) cycles=$1; shift ;;
    -*|"") ;;
    *) echo "soak.sh: CYCLES must be a number, got '$1' (usage: scripts/soak.sh [CYCLES] [--seed N] [--json])" >&2; exit 2 ;;
esac
[ -f /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] ||
    { echo "soak.sh: libfaketime is missing: apt-get install faketime (scripts/install-deps.sh does)" >&2; exit 2; }
[ -x build/bin/muster-host ] || sh scripts/build.sh build -DMUSTER_BUILD_TESTS=OFF -DMUSTER_BUILD_BENCH=OFF >&2
work=$(mktemp -d)
chmod 755 "$work"  # the server runs as the postgres user
cleanup() {
    sh scripts/pg-stop.sh "$work/pg"
    sh scripts/nats-stop.sh "$work/nats"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sh scripts/pg-start.sh "$work/pg" >&2
sh scripts/nats-start.sh "$work/nats" >&2
set -a
. "$work/pg/env"
. "$work/nats/env"
set +a
mkdir "$work/soak"
echo "== soak: $cycles cycles on $(git rev-parse --short HEAD 2>/dev/null || echo "an unknown commit")" >&2
python3 scripts/soak.py --cycles "$cycles" --host "$PWD/build/bin/muster-host" --workdir "$work/soak" "$@"
