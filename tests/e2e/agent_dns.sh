#!/bin/sh
# muster-host run as a DNS agent, asked with dig: A, AAAA, CNAME and SRV
# (with the targets' addresses), NXDOMAIN, NODATA, REFUSED, no recursion,
# EDNS0, truncation and the TCP retry, only eligible instances, stale
# answers while the backend is down. On catalog-sqlite, or on nats-kv with
# AGENT_BACKEND=nats (skipped, 77, without MUSTER_TEST_NATS_URL).
if [ "${AGENT_BACKEND:-sqlite}" = nats ]; then
    [ -n "${MUSTER_TEST_NATS_URL:-}" ] || exit 77
fi
. "$(dirname "$0")/lib.sh"
command -v dig >/dev/null || fail "dig (Debian package bind9-dnsutils) is needed"
if [ "${AGENT_BACKEND:-sqlite}" = nats ]; then
    B="--chain nats-kv --backend-option nats-kv.url=$MUSTER_TEST_NATS_URL --backend-option nats-kv.bucket=dns$$"
else
    B="--backend-option catalog-sqlite.path=$WORK/shared.db"
fi
B="$B --heartbeat-interval 500ms"
PORT=$(free_port)
start agent run --dns "$PORT" --dns-domain test.muster $B
wait_for agent.log "DNS on 127.0.0.1:$PORT" 10 || fail "the agent did not listen on 127.0.0.1:$PORT"
start r1 run --role router --address 10.0.0.1:80 $B
start r2 run --role router --address 10.0.0.2:80 $B
start r3 run --role router --address 127.0.0.1:1 --check health-tcp --check-interval 1s --check-timeout 500ms $B  # nothing listens: critical
start w6 run --role web --address "[::1]:443" $B
start ex run --role ext --address db.example.com:5432 $B
for p in r1 r2 r3 w6 ex; do wait_for $p.log "running 1 service" 10 || fail "$p did not start"; done
D="dig @127.0.0.1 -p $PORT +time=2 +tries=1"

wait_for_cmd() { end=$(( $(millis) + $2 )); while [ "$(millis)" -lt "$end" ]; do sh -c "$1" && return 0; sleep 0.1; done; return 1; }
wait_for_cmd "[ \"\$($D +short router.service.test.muster A | sort | tr '\n' ' ')\" = '10.0.0.1 10.0.0.2 ' ]" 10000 ||
    fail "A: not the two passing routers: $($D +short router.service.test.muster A)"
pass "A: the passing instances only (the critical one left out)"
$D +norec router.service.test.muster A | grep -q "flags: qr aa;" || fail "the answer is not authoritative"
$D router.service.test.muster A | grep -q "flags: qr aa rd;" || fail "recursion is offered, or RD not echoed"
$D router.service.test.muster A | grep -Eq "router.service.test.muster.[[:space:]]+5[[:space:]]+IN[[:space:]]+A" ||
    fail "the TTL is not 5"
pass "authoritative, no recursion, TTL 5"
firsts=$(for i in $(seq 1 20); do $D +short router.service.test.muster A | head -1; done | sort -u | wc -l)
[ "$firsts" -eq 2 ] || fail "the answers do not turn their records: $firsts first record(s) over 20 answers"
pass "answers built once per topology turn their records (both routers come first)"
$D +short _router._tcp.service.test.muster SRV | grep -q "^1 1 80 0a000001.addr.test.muster.$" || fail "SRV: no target for 10.0.0.1"
$D _router._tcp.service.test.muster SRV | grep -A3 "ADDITIONAL SECTION" | grep -Eq "0a000001.addr.test.muster.[[:space:]]+5[[:space:]]+IN[[:space:]]+A[[:space:]]+10.0.0.1" ||
    fail "SRV: the target's address is not in the additional section"
[ "$($D +short 0a000002.addr.test.muster A)" = "10.0.0.2" ] || fail "an SRV target does not resolve"
$D +short router.service.test.muster SRV | grep -q "^1 1 80 " || fail "SRV on the plain name"
pass "SRV at _router._tcp and the plain name, targets with their addresses"
[ "$($D +short web.service.test.muster AAAA)" = "::1" ] || fail "AAAA"
[ "$($D +short ext.service.test.muster A)" = "db.example.com." ] || fail "a host name is not a CNAME"
$D +short ext.service.test.muster SRV | grep -q "^1 1 5432 db.example.com.$" || fail "SRV to a host name"
pass "AAAA, CNAME for a host name, SRV to a host name"
$D nobody.service.test.muster A | grep -q "status: NXDOMAIN" || fail "an unknown role is not NXDOMAIN"
$D nobody.service.test.muster A | grep -q "AUTHORITY: 1" || fail "NXDOMAIN without the SOA"
$D router.service.test.muster TXT | grep -q "status: NOERROR, .*" || fail "NODATA is not NOERROR"
$D router.service.test.muster TXT | grep -q "ANSWER: 0, AUTHORITY: 1" || fail "NODATA without the SOA"
$D router.service.test.muster AAAA | grep -q "ANSWER: 0" || fail "AAAA of an IPv4 role is not NODATA"
$D example.com A | grep -q "status: REFUSED" || fail "a name outside the domain is not REFUSED"
$D 9-not-a-role.service.test.muster A | grep -q "status: NXDOMAIN" || fail "a name no role can have is not NXDOMAIN"
$D +tcp 9-not-a-role.service.test.muster A | grep -q "status: NXDOMAIN" || fail "the same over TCP"
[ "$($D +short router.service.test.muster A | wc -l)" -eq 2 ] || fail "the agent stopped answering after a bad name"
pass "NXDOMAIN, NODATA (with the SOA), REFUSED outside the domain"

# A change reaches the replies built for the role: a stopped router is gone.
kill -TERM "$PID_r2"; wait "$PID_r2" || fail "r2 did not exit 0"
wait_for_cmd "[ \"\$($D +short router.service.test.muster A)\" = 10.0.0.1 ]" 10000 ||
    fail "a stopped router is still answered: $($D +short router.service.test.muster A)"
pass "a topology change replaces the replies built for the role"

# Enough instances that the answer exceeds 512 bytes: truncated over UDP,
# whole over TCP (dig retries by itself), and over EDNS0 with 4096.
# One process registers them all ([service.NAME] sections): fifty
# processes were slow to start under ThreadSanitizer.
for i in $(seq 10 59); do printf '[service.m%s]\nrole = "many"\naddress = "10.0.1.%s:80"\n' "$i" "$i"; done >"$WORK/many.toml"
start many run --config "$WORK/many.toml" $B
wait_for_cmd "[ \"\$($D +tcp +short many.service.test.muster A | wc -l)\" -eq 50 ]" 60000 ||
    fail "TCP: not the 50 instances: $($D +tcp +short many.service.test.muster A | wc -l)"
$D +noedns +ignore many.service.test.muster SRV | grep -q "flags: qr aa tc rd;" || fail "UDP without EDNS0: not truncated"
n=$($D +noedns many.service.test.muster SRV +short | wc -l)
[ "$n" -eq 50 ] || fail "dig's TCP retry did not get the 50 but $n: $($D +noedns many.service.test.muster SRV)"
[ "$($D +bufsize=4096 +ignore many.service.test.muster A +short | wc -l)" -eq 50 ] || fail "EDNS0 4096: not the 50 over UDP"
pass "truncation over UDP, the TCP retry, EDNS0 buffer size"

# The only backend down (memory, taken down by a file): the last good
# answer is served, until it is older than dns_stale_max; then SERVFAIL.
SPORT=$(free_port)
HPORT=$(free_port)
start solo run --dns "$SPORT" --http "$HPORT" --dns-stale-max 8s --role router --address 10.0.0.9:80 --chain memory \
    --backend-option memory.down_while="$WORK/down" --heartbeat-interval 300ms
wait_for solo.log "running 1 service" 10 || fail "the memory agent did not start"
S="dig @127.0.0.1 -p $SPORT +time=2 +tries=1"
[ "$($S +short router.service.muster A)" = "10.0.0.9" ] || fail "the memory agent does not answer"
touch "$WORK/down"
# Once the cache says it is stale (polled, not a fixed sleep: a loaded
# machine notices later), DNS still answers it, well within dns_stale_max.
wait_for_cmd "curl -s 'http://127.0.0.1:$HPORT/v1/roles/router' | grep -q '\"stale\": true'" 10000 ||
    fail "the cache did not turn stale while the backend is down"
[ "$($S +short router.service.muster A)" = "10.0.0.9" ] || fail "no stale answer while the backend is down"
wait_for_cmd "$S router.service.muster A | grep -q 'status: SERVFAIL'" 20000 || fail "no SERVFAIL past dns_stale_max"
rm "$WORK/down"
wait_for_cmd "[ \"\$($S +short router.service.muster A)\" = 10.0.0.9 ]" 10000 || fail "no answer after the backend came back"
pass "stale answers while the backend is down, SERVFAIL past dns_stale_max, fresh again after"

expect 3 "is not a domain name" run --dns 8600 --dns-domain "bad..name" $B
