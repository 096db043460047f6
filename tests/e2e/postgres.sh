#!/bin/sh
# muster-host on catalog-postgres: through [backend.catalog-postgres] and
# through the seed's [database] url = "postgresql://..."; the password never
# shows. Skipped (77) without a server.
[ -n "${MUSTER_TEST_PG_URL:-}" ] || exit 77
. "$(dirname "$0")/lib.sh"
cat >pg.toml <<TOML
[discovery]
chain = "catalog-postgres"
heartbeat_interval = "500ms"
ttl = "3s"

[backend.catalog-postgres]
url = "$MUSTER_TEST_PG_URL"
schema = "e2e_$$"
TOML
start watcher watch --config pg.toml --json
start a run --config pg.toml --role router --address 127.0.0.1:9001
wait_for watcher.log '"added".*"router"' 15 || fail "the watcher did not see the router on catalog-postgres"
kill -TERM "$PID_a"; wait "$PID_a" || fail "run on catalog-postgres did not exit 0"
wait_for watcher.log '"removed".*"router"' 5 || fail "the watcher did not see the router removed"
pass "run and watch on [backend.catalog-postgres]"

cat >seed.toml <<TOML
[database]
url = "$MUSTER_TEST_PG_URL"

[discovery]
enabled = true
heartbeat_interval = "30s"
TOML
start seed run --config seed.toml --ttl 90s --role acceptor --address 127.0.0.1:4317
wait_for seed.log "running 1 service" 15 || fail "the seed's postgresql url did not run"
"$HOST" list --config seed.toml --ttl 90s | grep -q "acceptor.*catalog-postgres\|from catalog-postgres" || fail "list on the seed's postgresql url misses the acceptor"
kill -TERM "$PID_seed"; wait "$PID_seed" || fail "run on the seed's postgresql url did not exit 0"
pass "the seed's [database] url = postgresql://... runs as written"

# A wrong password is refused with the password masked.
bad=$(echo "$MUSTER_TEST_PG_URL" | sed 's|://muster@|://muster:hunter2@|; s|/postgres$|/no_such_db|')
"$HOST" list --chain catalog-postgres --backend-option "catalog-postgres.url=$bad" >out.txt 2>err.txt
code=$?
[ "$code" -eq 5 ] || fail "an unreachable database gave exit $code, expected 5"
grep -q hunter2 err.txt out.txt && fail "the password appeared in the output"
grep -q "\*\*\*\*" err.txt || fail "the error does not show the masked URL: $(cat err.txt)"
pass "an unusable database: exit 5, password masked"
