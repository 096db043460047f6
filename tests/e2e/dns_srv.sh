#!/bin/sh
# dns-srv against NSD serving Kubernetes-format records
# (_http._tcp.router.prod.svc.cluster.local SRV -> pod names with A records):
# lists and stable ids, NXDOMAIN as no instances, writes refused and sent to
# the links that take them, a chain with catalog-sqlite listing both kinds
# of instance, a watcher seeing records added and removed within the clamped
# TTL + 1 s, a hung or killed server failed over to the next server, and the
# agent serving the last answer, stale, while no server answers.
# With "conformance" as its argument it runs the conformance suite's
# read-only rules against the same kind of zone instead.
. "$(dirname "$0")/lib.sh"
. "$MUSTER_SOURCE/tests/e2e/nsd.sh"
command -v dig >/dev/null || fail "dig (Debian package bind9-dnsutils) is needed"

ZONE="$WORK/cluster.local.zone"
SERIAL=1
# zone N...: the router Service with the endpoints 10.0.0.N, TTL 2.
zone() {
    SERIAL=$((SERIAL + 1))
    {
        printf '$ORIGIN cluster.local.\n$TTL 2\n'
        printf '@ IN SOA ns.cluster.local. hostmaster.cluster.local. %s 3600 600 86400 2\n@ IN NS ns\nns IN A 127.0.0.1\n' "$SERIAL"
        for n in "$@"; do
            printf '_http._tcp.router.prod.svc IN SRV 0 50 8080 10-0-0-%s.router.prod.svc\n' "$n"
            printf '10-0-0-%s.router.prod.svc IN A 10.0.0.%s\n' "$n" "$n"
        done
    } >"$ZONE.new"
    mv "$ZONE.new" "$ZONE"
}
zone 1 2
nsd_start cluster.local "$ZONE"
PORT1=$NSD_PORT NSD1=$NSD_PID
ROLES="router=_http._tcp.router.prod.svc.cluster.local, gone=_http._tcp.gone.prod.svc.cluster.local"

if [ "${1:-}" = conformance ]; then
    exec "${MUSTER_CONFORMANCE:?MUSTER_CONFORMANCE must name muster-conformance}" --plugin dns-srv \
        --option servers=127.0.0.1:$PORT1 --option "roles=$ROLES" --option min_ttl=200ms \
        --read-only-role router=2 --unheld-role nobody \
        --unreachable-option servers=127.0.0.1:1 --unreachable-option timeout=300ms --unreachable-option "roles=$ROLES"
fi

D="--chain dns-srv --backend-option dns-srv.servers=127.0.0.1:$PORT1 --backend-option dns-srv.roles=$(echo "$ROLES" | tr -d ' ')"
"$HOST" list $D --role router --json >l1.json 2>l1.err || fail "list: $(cat l1.err)"
addresses() { python3 -c "import json,sys; print(' '.join(sorted(i['address'] for i in json.load(open(sys.argv[1])))))" "$1"; }
ids() { python3 -c "import json,sys; print(' '.join(sorted(i['id'] for i in json.load(open(sys.argv[1])))))" "$1"; }
[ "$(addresses l1.json)" = "10.0.0.1:8080 10.0.0.2:8080" ] || fail "list: $(cat l1.json)"
python3 -c "import json,sys; sys.exit(not any(i['metadata'].get('dns.target') == '10-0-0-1.router.prod.svc.cluster.local' for i in json.load(open('l1.json'))))" ||
    fail "no dns.target metadata: $(cat l1.json)"
"$HOST" list $D --role router --json >l2.json 2>l2.err || fail "list again: $(cat l2.err)"
[ "$(ids l1.json)" = "$(ids l2.json)" ] || fail "ids differ between two processes: $(ids l1.json) / $(ids l2.json)"
pass "a role lists one instance per SRV target:port, with the same ids in every process"

"$HOST" list $D --role gone --json >gone.json 2>gone.err || fail "NXDOMAIN: $(cat gone.err)"
[ "$(cat gone.json)" = "[]" ] || fail "NXDOMAIN is not 'no instances': $(cat gone.json)"
pass "NXDOMAIN lists no instances (exit 0)"

expect 3 "no backend of the chain takes writes" run $D --role router --address 10.0.0.9:80
pass "a chain of read-only backends refuses a registration with one line"
expect 3 "no role is mapped" list --chain dns-srv --backend-option dns-srv.servers=127.0.0.1:$PORT1
expect 3 "option 'roles'" list --chain dns-srv --backend-option dns-srv.roles=router
expect 3 "option 'servers'" list --chain dns-srv --backend-option dns-srv.roles=r=_a._tcp.x --backend-option dns-srv.servers=foo:53
expect 3 "min_ttl" list --chain dns-srv --backend-option dns-srv.roles=r=_a._tcp.x --backend-option dns-srv.min_ttl=5s --backend-option dns-srv.max_ttl=1s
pass "bad options: one line naming the option, exit 3"

# A chain with catalog-sqlite: DNS roles from DNS, the others from the
# store, writes only to the store.
C="--chain dns-srv,catalog-sqlite --backend-option dns-srv.servers=127.0.0.1:$PORT1 --backend-option dns-srv.roles=$(echo "$ROLES" | tr -d ' ') --backend-option catalog-sqlite.path=$WORK/store.db --heartbeat-interval 300ms"
start writer run $C --role writer --address 10.1.0.1:9000
wait_for writer.log "running 1 service" 10 || fail "a writer on dns-srv, catalog-sqlite did not start"
"$HOST" list $C --role writer --json >w.json 2>w.err || fail "list writer: $(cat w.err)"
[ "$(addresses w.json)" = "10.1.0.1:9000" ] || fail "the writer is not listed: $(cat w.json)"
"$HOST" list $C --role router --json >r.json 2>r.err || fail "list router: $(cat r.err)"
[ "$(addresses r.json)" = "10.0.0.1:8080 10.0.0.2:8080" ] || fail "the routers are not listed through the chain: $(cat r.json)"
"$HOST" list $C --json >all.json 2>all.err || fail "list all: $(cat all.err)"
[ "$(addresses all.json)" = "10.0.0.1:8080 10.0.0.2:8080 10.1.0.1:9000" ] || fail "every role: $(cat all.json)"
sqlite3 "$WORK/store.db" "select count(*) from instances where role = 'router'" 2>/dev/null | grep -qx 0 ||
    fail "something was written for the DNS role"
grep -q "breaker open\|failing" writer.log && fail "writes counted the read-only link as failed: $(cat writer.log)"
pass "dns-srv, catalog-sqlite: each role from its source, every role from both, writes only to the store"

# Watch: a record added and one removed reach a watcher within the
# clamped TTL (2 s) + 1 s.
start watcher watch $C --role router --json
# The same chain the other way round: the DNS role is still watched on DNS.
start watcher2 watch $(echo "$C" | sed 's/dns-srv,catalog-sqlite/catalog-sqlite,dns-srv/') --role router --json
wait_for watcher.log '"added".*10.0.0.2:8080' 10 || fail "the watch did not start: $(cat watcher.log)"
wait_for watcher2.log '"added".*10.0.0.2:8080' 10 || fail "catalog-sqlite,dns-srv: the watch did not start"
t0=$(millis)
zone 1 2 3
nsd_reload "$ZONE"
wait_for watcher.log '10.0.0.3:8080' 6 || fail "an added record did not reach the watcher"
added=$(( $(millis) - t0 ))
[ "$added" -le 3500 ] || fail "an added record took $added ms (TTL 2 s + 1 s)"
t0=$(millis)
zone 2 3
nsd_reload "$ZONE"
wait_for watcher.log '"removed".*10.0.0.1:8080\|10.0.0.1:8080.*"removed"' 6 || fail "a removed record did not reach the watcher: $(cat watcher.log)"
removed=$(( $(millis) - t0 ))
[ "$removed" -le 3500 ] || fail "a removed record took $removed ms (TTL 2 s + 1 s)"
wait_for watcher2.log '10.0.0.3:8080' 2 || fail "catalog-sqlite,dns-srv: the added record did not reach the watcher"
wait_for watcher2.log '"removed".*10.0.0.1:8080' 2 || fail "catalog-sqlite,dns-srv: the removed record did not reach the watcher"
pass "a watcher sees a record added after $added ms and one removed after $removed ms (TTL 2 s), whatever the chain's order"

# A second server with the same zone: the first hung (SIGSTOP), then
# killed, hands every question to the second.
nsd_start cluster.local "$ZONE"
PORT2=$NSD_PORT
F="--chain dns-srv --backend-option dns-srv.servers=127.0.0.1:$PORT1,127.0.0.1:$PORT2 --backend-option dns-srv.timeout=300ms --backend-option dns-srv.roles=$(echo "$ROLES" | tr -d ' ') --read-timeout 2s"
nsd_signal STOP "$NSD1"
"$HOST" list $F --role router --json >h.json 2>h.err || fail "a hung first server was not failed over: $(cat h.err)"
[ "$(addresses h.json)" = "10.0.0.2:8080 10.0.0.3:8080" ] || fail "hung first server: $(cat h.json)"
pass "a hung server (SIGSTOP) hands the question to the next one"
# The chain with its only DNS server hung: the store's roles answer as
# ever, the DNS role fails (exit 5) rather than answer the store's empty
# list, and the writer's heartbeats go on.
"$HOST" list $C --role writer --json >w2.json 2>w2.err || fail "the store's role failed with DNS hung: $(cat w2.err)"
[ "$(addresses w2.json)" = "10.1.0.1:9000" ] || fail "the store's role with DNS hung: $(cat w2.json)"
"$HOST" list $C --role router --json >r2.json 2>r2.err && fail "the DNS role answered with its server hung: $(cat r2.json)"
[ $? -eq 5 ] || fail "the DNS role with its server hung: not exit 5: $(cat r2.err)"
grep -q "heartbeats failing" writer.log && fail "a hung DNS server failed the writer's heartbeats: $(cat writer.log)"
nsd_signal CONT "$NSD1"
pass "dns-srv, catalog-sqlite with DNS hung: the store's roles answer, the DNS role is unavailable (not empty)"

# The agent on one server: the last answer, stale, while it hangs or is
# dead; fresh again once it answers.
HTTP=$(free_port)
start agent run --http "$HTTP" --chain dns-srv --backend-option dns-srv.servers=127.0.0.1:$PORT1 \
    --backend-option dns-srv.timeout=300ms --backend-option dns-srv.min_ttl=500ms --backend-option dns-srv.max_ttl=1s \
    --backend-option "dns-srv.roles=$(echo "$ROLES" | tr -d ' ')" --keepalive 500ms
wait_for agent.log "HTTP API on http://127.0.0.1:$HTTP" 10 || fail "the agent did not listen"
get() { curl -s "http://127.0.0.1:$HTTP/v1/roles/router"; }
wait_for_cmd() { end=$(( $(millis) + $2 )); while [ "$(millis)" -lt "$end" ]; do sh -c "$1" && return 0; sleep 0.1; done; return 1; }
[ "$(get | grep -o '10.0.0.[0-9]:8080' | sort | tr '\n' ' ')" = "10.0.0.2:8080 10.0.0.3:8080 " ] || fail "agent: $(get)"
for fault in STOP KILL; do
    nsd_signal "$fault" "$NSD1"
    wait_for_cmd "curl -s http://127.0.0.1:$HTTP/v1/roles/router | grep -Eq '\"stale\": ?true'" 8000 ||
        fail "SIG$fault: the answer is not marked stale: $(get)"
    [ "$(get | grep -o '10.0.0.[0-9]:8080' | sort | tr '\n' ' ')" = "10.0.0.2:8080 10.0.0.3:8080 " ] ||
        fail "SIG$fault: the last answer is not served: $(get)"
    if [ "$fault" = STOP ]; then
        nsd_signal CONT "$NSD1"
        wait_for_cmd "curl -s http://127.0.0.1:$HTTP/v1/roles/router | grep -Eq '\"stale\": ?false'" 8000 ||
            fail "thawed: the answer stays stale: $(get)"
    fi
    pass "a server that is SIG$fault leaves the last answer served, marked stale"
done
pass "dns-srv: all checks"
