#!/bin/sh
# Processes start in any order: `run` whose store is not up yet keeps
# trying and registers as soon as it answers; a chain's absent link joins
# when it comes and gets the registration; startup_timeout bounds the wait
# (exit 5); one-shot commands still fail fast (exit 5). Needs the test
# nats-server, which it stops and starts; skipped (77) without it.
[ -n "${MUSTER_TEST_NATS_URL:-}" ] || exit 77
. "$(dirname "$0")/lib.sh"
NATS="--backend-option nats-kv.url=$MUSTER_TEST_NATS_URL --backend-option nats-kv.bucket=e2e_startup_$$"
TIMING="--heartbeat-interval 500ms"
# nats-server is started again on the way out, pass or fail, unless the test did.
NATS_DOWN=1
trap '[ "$NATS_DOWN" = 1 ] && sh -c "$MUSTER_TEST_NATS_START" >/dev/null 2>&1; cleanup' EXIT
sh -c "$MUSTER_TEST_NATS_STOP" || fail "cannot stop nats-server"

t0=$(millis)
"$HOST" list --chain nats-kv $NATS >/dev/null 2>list.err; code=$?
[ "$code" -eq 5 ] || fail "list with its only store down exited $code, not 5: $(cat list.err)"
[ $(( $(millis) - t0 )) -lt 5000 ] || fail "list with its only store down did not fail fast"
pass "one-shot list fails fast (exit 5) while its only store is down"

"$HOST" run --chain nats-kv $NATS $TIMING --startup-timeout 1s --role early --address 127.0.0.1:1 >bounded.log 2>&1; code=$?
[ "$code" -eq 5 ] || fail "run with startup_timeout 1s and no store exited $code, not 5: $(cat bounded.log)"
grep -q "startup_timeout" bounded.log || fail "the give-up line does not name startup_timeout: $(cat bounded.log)"
pass "startup_timeout bounds the wait: exit 5"

start alone run --chain nats-kv $NATS $TIMING --role early --address 127.0.0.1:1
start pair run --chain "nats-kv, catalog-sqlite" $NATS --backend-option catalog-sqlite.path="$WORK/pair.db" $TIMING \
    --role paired --address 127.0.0.1:2
wait_for alone.log "cannot register early yet" 10 || fail "run did not say it is waiting for a store"
wait_for pair.log "running 1 service(s) on chain nats-kv, catalog-sqlite" 10 ||
    fail "run on a chain with one link down did not start on the other, naming the whole chain"
sleep 1
[ "$(grep -c "cannot register early yet" alone.log)" -le 4 ] || fail "run logs more than once per backoff step: $(cat alone.log)"
kill -0 "$PID_alone" 2>/dev/null || fail "run gave up while its store was down: $(cat alone.log)"
pass "run waits for its store with a backoff; a chain starts on the link that is up"

sh -c "$MUSTER_TEST_NATS_START" || fail "cannot start nats-server"
NATS_DOWN=0
wait_for alone.log "running 1 service(s) on chain nats-kv" 15 || fail "run did not register once its store came up"
end=$(( $(millis) + 10000 ))
until "$HOST" list --chain nats-kv $NATS $TIMING --role paired 2>/dev/null | grep -q "127.0.0.1:2"; do
    [ "$(millis)" -lt "$end" ] || fail "the link absent at start never got the registration: $(cat pair.log)"
    sleep 0.2
done
pass "the store came up: the waiting run registered, the absent link got the other's registration"
