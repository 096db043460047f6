#!/bin/sh
# muster-host run on a three-backend chain from a config file, with
# nats-server killed -9 under it and started again: other processes keep
# listing from the next backend, `status --status-file` shows the breaker
# open and then closed, the recovered nats-kv holds both services again, and
# a graceful stop leaves no backend listing them. Skipped (77) without both
# servers.
[ -n "${MUSTER_TEST_PG_URL:-}" ] && [ -n "${MUSTER_TEST_NATS_URL:-}" ] || exit 77
. "$(dirname "$0")/lib.sh"
cat >chain.toml <<TOML
[discovery]
chain = "nats-kv, catalog-postgres, catalog-sqlite"
heartbeat_interval = "300ms"
ttl = "3s"
breaker_threshold = 2
breaker_backoff = "100ms"
breaker_max_backoff = "1s"

[backend.nats-kv]
url = "$MUSTER_TEST_NATS_URL"
bucket = "e2e_chain_$$"
request_timeout = "250ms"
connect_timeout = "500ms"

[backend.catalog-postgres]
url = "$MUSTER_TEST_PG_URL"
schema = "e2e_chain_$$"
statement_timeout = "250ms"

[backend.catalog-sqlite]
path = "chain.db"

[service.router]
role = "router"
address = "127.0.0.1:9101"

[service.writer]
role = "writer"
address = "127.0.0.1:9102"
TOML

breaker_of() {  # breaker_of BACKEND: its state in the published status
    "$HOST" status --status-file status.json --json 2>/dev/null |
        tr -d ' \n' | grep -o "\"backend\":\"$1\",\"breaker\":\"[a-z-]*\"" | sed 's/.*"breaker":"//; s/"//'
}
wait_breaker() {  # wait_breaker BACKEND STATE SECONDS
    end=$(( $(millis) + $3 * 1000 ))
    while [ "$(millis)" -lt "$end" ]; do
        [ "$(breaker_of "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
listed_from() {  # listed_from BACKEND: how many live instances a fresh `list` got from BACKEND
    "$HOST" list --config chain.toml --json 2>/dev/null | tr -d ' \n' | grep -o "\"backend\":\"$1\"" | wc -l
}

start host run --config chain.toml --status-file status.json
wait_for host.log "running 2 service" 15 || fail "the three-backend chain did not start"
wait_breaker nats-kv closed 5 || fail "status does not show nats-kv closed: $("$HOST" status --status-file status.json)"
[ "$(listed_from nats-kv)" -eq 2 ] || fail "list did not answer both services from nats-kv: $("$HOST" list --config chain.toml)"
"$HOST" status --status-file status.json | grep -q "catalog-sqlite *closed" || fail "status does not show the whole chain: $("$HOST" status --status-file status.json)"
pass "a three-backend chain from a config file: both services listed from nats-kv, every breaker closed"

sh -c "$MUSTER_TEST_NATS_KILL" || fail "cannot kill nats-server"
wait_breaker nats-kv open 10 || wait_breaker nats-kv half-open 1 || fail "the host's status never showed nats-kv's breaker open"
[ "$(listed_from catalog-postgres)" -eq 2 ] || fail "with nats-server down, list did not answer from catalog-postgres: $("$HOST" list --config chain.toml 2>&1)"
pass "nats-server killed: the breaker opens, the next backend answers"

sh -c "$MUSTER_TEST_NATS_START" || fail "cannot start nats-server"
wait_breaker nats-kv closed 15 || fail "nats-kv did not recover: $("$HOST" status --status-file status.json)"
[ "$(listed_from nats-kv)" -eq 2 ] || fail "the recovered nats-kv does not hold both services: $("$HOST" list --config chain.toml)"
grep -q "backend nats-kv recovered" host.log || fail "the recovery was not logged"
pass "nats-server back: written back before it serves, breaker closed"

kill -TERM "$PID_host"; wait "$PID_host" || fail "run did not exit 0 on SIGTERM"
[ -z "$("$HOST" list --config chain.toml --json 2>/dev/null | tr -d ' \n' | grep -o '"role"')" ] ||
    fail "stopped services are still listed: $("$HOST" list --config chain.toml)"
pass "a graceful stop leaves no backend listing them"
