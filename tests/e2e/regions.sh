#!/bin/sh
# Regions: eu (this process's, catalog-sqlite), us (catalog-sqlite, every
# write to it counted by triggers the test adds) and, with PostgreSQL, ap
# (catalog-postgres, its writes counted by the server's statistics).
# 1,000 register/deregister cycles and their heartbeats in eu write nothing
# to us or ap; with a local instance every answer is eu's and no other
# region is read; when the last local instance stops the answer moves to
# us, then ap, and back to eu when a local one returns; DNS, list and pick
# say which region answered; bad region settings exit 3.
. "$(dirname "$0")/lib.sh"
command -v dig >/dev/null || fail "dig (Debian package bind9-dnsutils) is needed"
regions="eu us"
[ -n "${MUSTER_TEST_PG_URL:-}" ] && regions="eu us ap"
SCHEMA="regions_$$"
# config REGION: this process in REGION; the others as [region.NAME].
config() {
    {
        printf '[discovery]\nregion = "%s"\nheartbeat_interval = "300ms"\n' "$1"
        [ "$1" = eu ] && printf 'failover = "%s"\n' "$(echo "$regions" | cut -d' ' -f2- | sed 's/ /, /g')"
        printf '[region.eu]\nchain = "catalog-sqlite"\n[region.eu.backend.catalog-sqlite]\npath = "%s/eu.db"\n' "$WORK"
        printf '[region.us]\nchain = "catalog-sqlite"\n[region.us.backend.catalog-sqlite]\npath = "%s/us.db"\n' "$WORK"
        case "$regions" in *ap*)
            printf '[region.ap]\nchain = "catalog-postgres"\n[region.ap.backend.catalog-postgres]\nurl = "%s"\nschema = "%s"\n' \
                "$MUSTER_TEST_PG_URL" "$SCHEMA" ;;
        esac
    } >"$WORK/$1.toml"
}
for r in $regions; do config "$r"; done
EU="--config $WORK/eu.toml"

# One router in each other region, each run by a process of that region.
start us_router run --config "$WORK/us.toml" --role router --address 10.2.0.1:80
wait_for us_router.log "running 1 service" 10 || fail "the us router did not start"
if [ -n "${MUSTER_TEST_PG_URL:-}" ]; then
    start ap_router run --config "$WORK/ap.toml" --role router --address 10.3.0.1:80
    wait_for ap_router.log "running 1 service" 10 || fail "the ap router did not start"
fi
# Every write to us and ap is counted by the store itself, with the id it
# wrote: the writes of each region's own router are told apart.
sqlite3 "$WORK/us.db" "CREATE TABLE counted(id TEXT);
  CREATE TRIGGER counted_i AFTER INSERT ON instances BEGIN INSERT INTO counted VALUES (NEW.id); END;
  CREATE TRIGGER counted_u AFTER UPDATE ON instances BEGIN INSERT INTO counted VALUES (NEW.id); END;
  CREATE TRIGGER counted_d AFTER DELETE ON instances BEGIN INSERT INTO counted VALUES (OLD.id); END;" ||
    fail "cannot add the counting triggers to us"
if [ -n "${MUSTER_TEST_PG_URL:-}" ]; then
    psql -q "$MUSTER_TEST_PG_URL" -v ON_ERROR_STOP=1 <<SQL >/dev/null || fail "cannot add the counting trigger to ap"
CREATE TABLE "$SCHEMA".counted(id uuid);
CREATE FUNCTION "$SCHEMA".count_write() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO "$SCHEMA".counted VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END \$\$;
CREATE TRIGGER counted AFTER INSERT OR UPDATE OR DELETE ON "$SCHEMA".instances
    FOR EACH ROW EXECUTE FUNCTION "$SCHEMA".count_write();
SQL
fi
router_id() { sed -n 's/.*registered router \([0-9a-f-]*\) .*/\1/p' "$WORK/$1.log" | head -1; }
# Writes to a region by anyone but its own router.
foreign_writes() {
    if [ "$1" = us ]; then
        sqlite3 "$WORK/us.db" "select count(*) from counted where id <> '$(router_id us_router)'"
    else
        psql "$MUSTER_TEST_PG_URL" -Atc "select count(*) from \"$SCHEMA\".counted where id <> '$(router_id ap_router)'"
    fi
}
trap 'cleanup; [ -n "${MUSTER_TEST_PG_URL:-}" ] && psql -q "$MUSTER_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" >/dev/null 2>&1' EXIT

HTTP=$(free_port) DNS=$(free_port) TOKEN=regions-token-0123456789
start agent run $EU --http "$HTTP" --http-token "$TOKEN" --dns "$DNS"
wait_for agent.log "HTTP API on" 10 || fail "the eu agent did not start"
start eu_router run $EU --role router --address 10.1.0.1:80
wait_for eu_router.log "running 1 service" 10 || fail "the eu router did not start"
region_of() { curl -s "http://127.0.0.1:$HTTP/v1/roles/router" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('region',''), ' '.join(sorted(i['address'] for i in d['instances'])))"; }
wait_for_cmd() { end=$(( $(millis) + $2 )); while [ "$(millis)" -lt "$end" ]; do sh -c "$1" && return 0; sleep 0.02; done; return 1; }
wait_for_cmd "[ \"\$(curl -s http://127.0.0.1:$HTTP/v1/roles/router | grep -c 10.1.0.1)\" -ge 1 ]" 5000 || fail "eu's router is not listed: $(region_of)"

# 1,000 cycles through the eu agent (it heartbeats what it registers), and
# an answer read after each: always eu's, no other region read.
python3 - "$HTTP" "$TOKEN" <<'PY' || fail "the cycles in eu failed"
import http.client, json, sys
port, token = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
for i in range(1000):
    c.request("PUT", "/v1/instances", json.dumps({"role": "writer", "address": "10.1.1.%d:90" % (i % 250 + 1)}), h)
    r = c.getresponse(); body = json.loads(r.read())
    assert r.status == 200, body
    c.request("GET", "/v1/roles/router"); r = c.getresponse(); role = json.loads(r.read())
    assert role["region"] == "eu" and [x["address"] for x in role["instances"]] == ["10.1.0.1:80"], role
    if i % 2:  # half deregistered at once, half left to the heartbeats for a while
        c.request("DELETE", "/v1/instances/" + body["id"], headers=h); r = c.getresponse(); r.read()
        assert r.status == 200
PY
sleep 1  # heartbeats of the 500 left registered
status=$(curl -s "http://127.0.0.1:$HTTP/v1/status")
echo "$status" | python3 -c "
import json, sys
regions = {r['region']: r for r in json.load(sys.stdin)['regions']}
assert regions['eu']['local'] and regions['eu']['answers'] >= 1000, regions['eu']
for name, r in regions.items():
    if name != 'eu': assert r['answers'] == 0 and r['cached_roles'] == 0, r
" || fail "another region was read while eu had an instance: $status"
for r in $regions; do
    [ "$r" = eu ] && continue
    [ "$(foreign_writes "$r")" -eq 0 ] || fail "eu's processes wrote to $r: $(foreign_writes "$r") writes"
done
[ "$(sqlite3 "$WORK/eu.db" "select count(*) from instances where role = 'writer'")" -ge 500 ] || fail "the writers are not in eu"
pass "1,000 cycles in eu and their heartbeats: 0 writes reach another region; every answer eu's, no other region read"

# prewarm: the other regions watch a role as soon as it is resolved, while
# eu still answers.
HTTP2=$(free_port)
start prewarmed run $EU --http "$HTTP2" --prewarm true
wait_for prewarmed.log "HTTP API on" 10 || fail "the prewarmed agent did not start"
curl -s "http://127.0.0.1:$HTTP2/v1/roles/router" | grep -q '"region": "eu"' || fail "prewarmed: not eu's answer"
curl -s "http://127.0.0.1:$HTTP2/v1/status" | python3 -c "
import json, sys
r = {x['region']: x for x in json.load(sys.stdin)['regions']}
assert all(x['cached_roles'] >= 1 for x in r.values()) and all(x['answers'] == 0 for n, x in r.items() if n != 'eu'), r
" || fail "prewarm did not start the other regions' caches: $(curl -s "http://127.0.0.1:$HTTP2/v1/status")"
kill "$PID_prewarmed"
pass "prewarm: the other regions cache the role ahead, eu still answers"

# DNS: local first, and each region by name.
D="dig @127.0.0.1 -p $DNS +time=2 +tries=1 +short"
[ "$($D router.service.muster A)" = 10.1.0.1 ] || fail "DNS local first: $($D router.service.muster A)"
[ "$($D router.service.us.muster A)" = 10.2.0.1 ] || fail "DNS in us: $($D router.service.us.muster A)"
[ "$($D _router._tcp.service.us.muster SRV | cut -d' ' -f3)" = 80 ] || fail "DNS SRV in us"
dig @127.0.0.1 -p "$DNS" router.service.mars.muster A | grep -q NXDOMAIN || fail "an unknown region is not NXDOMAIN"
pass "DNS: <role>.service.muster local first, <role>.service.<region>.muster that region's, another name NXDOMAIN"

# The last local instance stops: the next region answers within 1 s; then
# the one after it; a local instance back: eu again within 1 s.
moved_within() {  # EXPECTED-REGION MS
    wait_for_cmd "[ \"\$(curl -s http://127.0.0.1:$HTTP/v1/roles/router | python3 -c \"import json,sys; print(json.load(sys.stdin).get('region'))\")\" = $1 ]" "$2"
}
# A blocking query on eu's answer is answered by the failover (the
# answer's index moves even when us's snapshot is older than eu's).
index=$(curl -s "http://127.0.0.1:$HTTP/v1/roles/router" | python3 -c "import json,sys; print(json.load(sys.stdin)['index'])")
curl -s "http://127.0.0.1:$HTTP/v1/roles/router?index=$index&wait=20s" >blocked.json &
blocked=$!
sleep 0.3
t0=$(millis)
kill -TERM "$PID_eu_router"
moved_within us 1000 || fail "no failover to us within 1 s: $(region_of)"
pass "the last eu router stopped: us answers after $(( $(millis) - t0 )) ms ($(region_of))"
wait_for_cmd "! kill -0 $blocked 2>/dev/null" 3000 || fail "a blocking query on eu's answer was not woken by the failover"
grep -q '"region": "us"' blocked.json || fail "the blocking query's answer is not us's: $(cat blocked.json)"
pass "a blocking query on eu's answer is answered by the failover, from us"
curl -s "http://127.0.0.1:$HTTP/v1/status" | python3 -c "
import json, sys
r = {x['region']: x for x in json.load(sys.stdin)['regions']}
assert r['us']['answers'] >= 1 and r['us']['cached_roles'] >= 1, r
" || fail "status does not show us answering"
# stdout alone: a store slow to open on a loaded machine adds a warning on
# stderr, which is no part of the JSON.
"$HOST" list $EU --role router --json >l.json 2>l.err || fail "list: $(cat l.err)"
python3 -c "import json; d=json.load(open('l.json')); assert [(i['region'], i['address']) for i in d] == [('us', '10.2.0.1:80')], d" ||
    fail "list --json does not say us answered: $(cat l.json l.err)"
"$HOST" pick $EU --role router --json >p.json 2>p.err || fail "pick: $(cat p.err)"
python3 -c "import json; d=json.load(open('p.json')); assert d['region'] == 'us' and {p['address'] for p in d['picks']} == {'10.2.0.1:80'}, d" ||
    fail "pick did not pick in us: $(cat p.json)"
[ "$($D router.service.muster A | tr '\n' ' ')" = "router.service.us.muster. 10.2.0.1 " ] ||
    fail "DNS after failover: not a CNAME to us's name: $($D router.service.muster A)"
$D _router._tcp.service.muster SRV | grep -q "^_router._tcp.service.us.muster.$" || fail "SRV after failover: no CNAME to us"
pass "list --json, pick --json and DNS (a CNAME to router.service.us.muster) answer from us, and say so"
if [ -n "${MUSTER_TEST_PG_URL:-}" ]; then
    kill -TERM "$PID_us_router"
    moved_within ap 3000 || fail "no failover to ap after us emptied: $(region_of)"
    pass "us emptied too: ap answers ($(region_of))"
fi
t0=$(millis)
start eu_router2 run $EU --role router --address 10.1.0.2:80
moved_within eu 5000 || fail "no failback to eu: $(region_of)"
pass "a local router is back: eu answers after $(( $(millis) - t0 )) ms from its start ($(region_of))"

# Bad region settings: one line, exit 3.
printf '[discovery]\nfailover = "us"\n' >bad1.toml
expect 3 "failover needs \[discovery\] region" list --config bad1.toml
printf '[region.us]\nchain = "catalog-sqlite"\n' >bad2.toml
expect 3 "needs \[discovery\] region" list --config bad2.toml
printf '[discovery]\nregion = "eu"\nfailover = "mars"\n' >bad3.toml
expect 3 "no \[region.mars\] section" list --config bad3.toml
printf '[discovery]\nregion = "eu"\n[region.us]\nchan = "x"\n' >bad4.toml
expect 3 "unknown key 'chan'" list --config bad4.toml
printf '[discovery]\nregion = "EU!"\n' >bad5.toml
expect 3 "region name" list --config bad5.toml
expect 2 "no region named" list $EU --from-region mars
"$HOST" list $EU --from-region us --json >us.json 2>us.err || fail "list --from-region us: $(cat us.err)"
want_us="['10.2.0.1:80']"
[ -n "${MUSTER_TEST_PG_URL:-}" ] && want_us="[]"  # its router was stopped for the failover to ap
python3 -c "import json; assert str([i['address'] for i in json.load(open('us.json'))]) == \"$want_us\"" ||
    fail "list --from-region us: $(cat us.json)"
pass "regions: all checks"
