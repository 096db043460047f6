#!/bin/sh
# A host's own shutdown is not a mass removal: SIGTERM of a host running
# four services removes them at once for a watcher of every role in another
# process, and neither log mentions the removal guard.
. "$(dirname "$0")/lib.sh"
TIMING="--heartbeat-interval 500ms --backend-option catalog-sqlite.path=$WORK/shared.db"
cat >four.toml <<TOML
[service.a]
role = "acceptor"
address = "127.0.0.1:4001"
[service.w]
role = "writer"
address = "127.0.0.1:4002"
[service.r]
role = "router"
address = "127.0.0.1:4003"
[service.q]
role = "querier"
address = "127.0.0.1:4004"
TOML
start watcher run --watch '*' $TIMING
start four run --config four.toml --watch '*' $TIMING
wait_for watcher.log "topology: added querier" 10 || fail "the watcher did not see the four services"
wait_for four.log "topology: added querier" 10 || fail "the host did not see its own services"
kill -TERM "$PID_four"; wait "$PID_four" || fail "the host did not exit 0 on SIGTERM"
wait_for watcher.log "topology: removed querier" 3 || fail "the watcher did not see the stop at once"
sleep 0.5
[ "$(grep -c "topology: removed" watcher.log)" -eq 4 ] || fail "the watcher did not see four removals: $(cat watcher.log)"
grep -q "removal guard" four.log watcher.log && fail "a graceful shutdown tripped the removal guard: $(grep "removal guard" four.log watcher.log)"
pass "SIGTERM of a host with four services: four removals at once, no guard"
