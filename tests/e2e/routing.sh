#!/bin/sh
# Routing across processes: muster-host pick spreads over the instances of
# a role; a drained instance (muster-host drain, or run's drain_grace on
# SIGTERM) stays listed but is never picked; --undo ends the drain.
. "$(dirname "$0")/lib.sh"
DB="--backend-option catalog-sqlite.path=$WORK/shared.db"
TIMING="--heartbeat-interval 500ms $DB"
start q1 run --role querier --address 127.0.0.1:5001 $TIMING
start q2 run --role querier --address 127.0.0.1:5002 $TIMING
start q3 run --role querier --address 127.0.0.1:5003 --drain-grace 3s $TIMING
for q in q1 q2 q3; do wait_for $q.log "running 1 service" 10 || fail "$q did not start"; done

picked() { "$HOST" pick --role querier --policy random --count 600 --json $DB | grep -c "\"address\": \"127.0.0.1:$1\""; }
[ "$(picked 5001)" -gt 100 ] && [ "$(picked 5002)" -gt 100 ] && [ "$(picked 5003)" -gt 100 ] ||
    fail "600 random picks did not spread over the three instances"
pass "pick spreads over the three instances"

ID=$("$HOST" list --role querier --json $DB | grep -A4 '"address": "127.0.0.1:5001"' | grep '"id"' | cut -d'"' -f4)
"$HOST" drain --id "$ID" $DB >/dev/null || fail "drain failed"
[ "$(picked 5001)" -eq 0 ] || fail "a drained instance was picked"
"$HOST" list --role querier $DB | grep -q "127.0.0.1:5001" || fail "a drained instance is no longer listed"
"$HOST" drain --id "$ID" --undo $DB >/dev/null || fail "drain --undo failed"
[ "$(picked 5001)" -gt 100 ] || fail "the instance is not picked again after drain --undo"
pass "drain: listed, never picked; --undo: picked again"

kill -TERM "$PID_q3"
wait_for q3.log "draining for 3000 ms" 5 || fail "run did not drain on SIGTERM"
[ "$(picked 5003)" -eq 0 ] || fail "a draining instance was picked during the grace"
"$HOST" list --role querier $DB | grep -q "127.0.0.1:5003" || fail "the draining instance left before the grace ended"
wait "$PID_q3" || fail "run did not exit 0 after the grace"
"$HOST" list --role querier $DB | grep -q "127.0.0.1:5003" && fail "the instance is still listed after the grace"
pass "SIGTERM with drain_grace: drained (listed, not picked) for the grace, then deregistered"

# A key implies maglev: one key picks one instance, every time; a key with
# another policy would be ignored, so it is refused.
keyed=$("$HOST" pick --role querier --key user-42 --count 50 --json $DB | grep -o '"address": "[^"]*"' | sort -u | wc -l)
[ "$keyed" -eq 1 ] || fail "50 picks with --key and no --policy went to $keyed instances, not one"
expect 2 "only --policy maglev" pick --role querier --key user-42 --policy round_robin $DB
pass "--key picks by maglev; with another policy it is refused"

expect 2 "is not round_robin" pick --role querier --policy fastest $DB
expect 1 "no instance of nobody" pick --role nobody $DB
