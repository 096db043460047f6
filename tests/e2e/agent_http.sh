#!/bin/sh
# muster-host run as an agent: the HTTP API read and written with curl, a
# blocking query woken by a registration in another process, server-sent
# events, the bearer token, bad requests (4xx, one log line, no crash), a
# slow client that blocks nobody, /metrics through promtool, and stale
# answers while the only backend is down.
# On catalog-sqlite, or on nats-kv with AGENT_BACKEND=nats (skipped, 77,
# without MUSTER_TEST_NATS_URL).
if [ "${AGENT_BACKEND:-sqlite}" = nats ]; then
    [ -n "${MUSTER_TEST_NATS_URL:-}" ] || exit 77
fi
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed"
if [ "${AGENT_BACKEND:-sqlite}" = nats ]; then
    BACKEND=nats-kv
    DB="--chain nats-kv --backend-option nats-kv.url=$MUSTER_TEST_NATS_URL --backend-option nats-kv.bucket=http$$"
else
    BACKEND=catalog-sqlite
    DB="--backend-option catalog-sqlite.path=$WORK/shared.db"
fi
DB="$DB --heartbeat-interval 500ms"
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
# The agent checks itself (its own port), so check metrics have something to count.
start agent run --http "$PORT" --http-token s3cret-token-0123456789 --role agent --address "127.0.0.1:$PORT" --check health-tcp \
    --check-interval 1s --check-timeout 500ms $DB
wait_for agent.log "HTTP API on http://127.0.0.1:$PORT" 10 || fail "the agent did not listen on 127.0.0.1:$PORT"
AUTH="Authorization: Bearer s3cret-token-0123456789"

[ "$(curl -s "$A/healthz")" = "ok" ] || fail "/healthz is not ok"
curl -s "$A/v1/roles/router" | grep -q '"instances": \[\]' || fail "an unknown role is not an empty list"
pass "healthz, and an empty role"

# A blocking query, woken by a registration made by another process.
INDEX=$(curl -s -D - -o /dev/null "$A/v1/roles/router" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-muster-index" {print $2}')
[ -n "$INDEX" ] || fail "no X-Muster-Index header"
curl -s -o "$WORK/blocked.json" -w '%{http_code}' "$A/v1/roles/router?index=$INDEX&wait=20s" > "$WORK/blocked.code" &
BLOCKED=$!
curl -s -N "$A/v1/watch?role=router" > "$WORK/events.txt" &
PIDS="$PIDS $!"
sleep 0.5
kill -0 $BLOCKED 2>/dev/null || fail "the blocking query answered before anything changed"
T0=$(millis)
start r1 run --role router --address 10.0.0.1:80 $DB
wait $BLOCKED
T1=$(millis)
[ "$(cat "$WORK/blocked.code")" = 200 ] && grep -q '"address": "10.0.0.1:80"' "$WORK/blocked.json" ||
    fail "the blocking query did not answer the new router: $(cat "$WORK/blocked.json")"
pass "a blocking query woke $((T1 - T0)) ms after another process started registering"
curl -s -o /dev/null -w '%{time_total}' "$A/v1/roles/router?index=999999999&wait=1s" | awk '$1 >= 0.9 {ok=1} END {exit !ok}' ||
    fail "a blocking query with nothing new did not wait for its wait"
pass "a blocking query with nothing new answers at the end of its wait"

# Registering for a process that cannot embed: token, health, deregister.
[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -d '{"role":"worker","address":"10.0.1.1:80"}' "$A/v1/instances")" = 401 ] ||
    fail "a write without the token was not 401"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer nope' -d '{}' "$A/v1/instances")" = 403 ] ||
    fail "a write with a wrong token was not 403"
ID=$(curl -s -X PUT -H "$AUTH" -d '{"role":"worker","address":"10.0.1.1:80","metadata":{"zone":"a"}}' "$A/v1/instances" |
    grep '"id"' | cut -d'"' -f4)
[ -n "$ID" ] || fail "PUT /v1/instances gave no id"
"$HOST" list --role worker $DB | grep -q "10.0.1.1:80" || fail "the agent's registration is not in the store"
curl -s -X PUT -H "$AUTH" -d '{"status":"critical","reason":"disk full"}' "$A/v1/instances/$ID/health" | grep -q critical ||
    fail "pushing health failed"
wait_for_cmd() { end=$(( $(millis) + $2 )); while [ "$(millis)" -lt "$end" ]; do sh -c "$1" && return 0; sleep 0.1; done; return 1; }
wait_for_cmd "'$HOST' list --role worker $DB | grep -q 'disk full'" 5000 || fail "the pushed health did not reach the store"
curl -s -X DELETE -H "$AUTH" "$A/v1/instances/$ID" | grep -q deregistered || fail "DELETE failed"
wait_for_cmd "! '$HOST' list --role worker $DB | grep -q 10.0.1.1" 5000 || fail "the instance is still listed after DELETE"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "$AUTH" "$A/v1/instances/$ID")" = 404 ] || fail "a second DELETE was not 404"
pass "PUT, health and DELETE through the agent, with the bearer token"
grep -q "s3cret-token-0123456789" "$WORK"/*.log && fail "the token appears in a log"
pass "the token is in no log"

# Opened before the router registered: an empty start (synced, 0
# instances), then the router's ADDED as it came.
head -2 "$WORK/events.txt" | grep -q '^event: synced' && sed -n 2p "$WORK/events.txt" | grep -q '"instances":0' ||
    fail "the event stream did not begin with synced of nothing: $(head -2 "$WORK/events.txt")"
grep -q "event: added" "$WORK/events.txt" && grep -q '"10.0.0.1:80"' "$WORK/events.txt" ||
    fail "the event stream did not carry the router's ADDED: $(cat "$WORK/events.txt")"
pass "server-sent events: synced, then each change"

# Bad requests: a 4xx, one log line each, and the agent goes on.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$A/v1/roles/Not_A_Role")" = 400 ] || fail "a bad role name was not 400"
[ "$(code -X PUT -H "$AUTH" -d '{"role":' "$A/v1/instances")" = 400 ] || fail "malformed JSON was not 400"
[ "$(code -X PUT -H "$AUTH" -d '{"role":"x","address":"nowhere"}' "$A/v1/instances")" = 400 ] || fail "a bad address was not 400"
[ "$(code -X DELETE -H "$AUTH" "$A/v1/instances/not-a-uuid")" = 400 ] || fail "a bad id was not 400"
[ "$(head -c 100000 /dev/zero | code -X PUT -H "$AUTH" --data-binary @- "$A/v1/instances")" = 413 ] ||
    fail "an oversized body was not 413"
[ "$(code -X POST "$A/v1/roles/router")" = 405 ] || fail "a wrong method was not 405"
[ "$(code "$A/nowhere")" = 404 ] || fail "an unknown path was not 404"
[ "$(code "$A/v1/roles/router?index=x")" = 400 ] || fail "a bad index was not 400"
[ "$(grep -c "http .*: 4[01][0-9]" "$WORK/agent.log")" -ge 8 ] || fail "bad requests were not logged one line each"
pass "bad requests: 400, 413, 405, 404, each logged"

# A client that sends half a request and then nothing holds no thread.
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
time.sleep(30)
' "$PORT" &
SLOW=$!
PIDS="$PIDS $SLOW"
sleep 0.3
[ "$(code --max-time 2 "$A/healthz")" = 200 ] || fail "a slow client blocked the agent"
pass "a slowloris client blocks nobody"
kill $SLOW 2>/dev/null

if command -v promtool >/dev/null; then
    curl -s "$A/metrics" | promtool check metrics || fail "promtool check metrics failed"
    pass "promtool check metrics"
else
    fail "promtool (Debian package prometheus) is needed"
fi
curl -s "$A/metrics" | grep -q '^muster_http_requests_total{code="401",method="PUT"} 1' || fail "no 401 in the request counts"
curl -s "$A/metrics" | grep -q "^muster_link_up{backend=\"$BACKEND\"} 1" || fail "no link_up"
curl -s "$A/metrics" | grep -Eq "^muster_link_heartbeats_total\\{backend=\"$BACKEND\",outcome=\"success\"\\} [1-9]" ||
    fail "no heartbeats counted"
curl -s "$A/metrics" | grep -Eq '^muster_check_runs_total\{check="health-tcp",verdict="passing"\} [1-9]' ||
    fail "no passing health-tcp runs counted"
curl -s "$A/metrics" | grep -q '^muster_check_duration_seconds_count{check="health-tcp"}' || fail "no check durations"
curl -s "$A/metrics" | grep -Eq '^muster_watch_events_total\{role="router",type="added"\} [1-9]' ||
    fail "no watch events counted"
pass "/metrics counts requests, links, heartbeats, check runs and durations, watch events"

# Stale answers while the only backend is down (memory, taken down by a file).
SPORT=$(free_port)
start solo run --http "$SPORT" --role router --address 10.0.0.9:80 --chain memory \
    --backend-option memory.down_while="$WORK/down" --heartbeat-interval 300ms
wait_for solo.log "running 1 service" 10 || fail "the memory agent did not start"
S="http://127.0.0.1:$SPORT"
curl -s "$S/v1/roles/router" | grep -q '"stale": false' || fail "the fresh answer is marked stale"
touch "$WORK/down"
wait_for_cmd "curl -s '$S/v1/roles/router' | grep -q '\"stale\": true'" 10000 || fail "no stale answer while the backend is down"
curl -s "$S/v1/roles/router" | grep -q '"10.0.0.9:80"' || fail "the stale answer lost the instance"
[ "$(code "$S/healthz")" = 503 ] || fail "/healthz is not 503 while no backend is up"
rm "$WORK/down"
wait_for_cmd "curl -s '$S/v1/roles/router' | grep -q '\"stale\": false'" 10000 || fail "the answer stayed stale after recovery"
pass "stale answers (and /healthz 503) while the backend is down; fresh again after"

expect 3 "is not HOST:PORT" run --http "localhost" $DB
expect 3 "is not an IP address" run --http "localhost:80" $DB
