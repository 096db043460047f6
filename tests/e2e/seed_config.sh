#!/bin/sh
# The seed's own configuration runs as written; its catalog part maps onto
# catalog-sqlite.
. "$(dirname "$0")/lib.sh"
cat >seed.toml <<'TOML'
[database]
url = "sqlite://signaldb.db"  # or PostgreSQL URL

[discovery]
enabled = true
heartbeat_interval = "30s"
TOML
# As written: no ttl, which follows heartbeat_interval (3x: 90 s).
start seed run --config seed.toml --role acceptor --address 127.0.0.1:4317
wait_for seed.log "running 1 service" 10 || fail "the seed configuration did not run"
[ -f signaldb.db ] || fail "the catalog file signaldb.db named by the seed's url was not created"
"$HOST" list --config seed.toml | grep -q "acceptor" || fail "list on the seed configuration misses the acceptor"
kill -TERM "$PID_seed"; wait "$PID_seed" || fail "run on the seed configuration did not exit 0"
pass "the seed's [database]/[discovery] configuration runs as written"

# The full seed configuration, with [queue] kind = "nats", runs in
# tests/e2e/nats.sh against a real nats-server.
