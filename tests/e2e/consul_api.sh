#!/bin/sh
# Consul's HTTP API served by the agent (docs/agent.md, "Consul's API"),
# used by clients no one here wrote:
# - a Prometheus-compatible scraper with a consul_sd_configs job pointed at
#   the agent scrapes exactly the passing instances of a role, and follows a
#   registration and a deregistration within its refresh: VictoriaMetrics
#   (Debian's victoria-metrics), because Debian builds its prometheus
#   without Consul discovery ("field consul_sd_configs not found");
# - the `consul` npm package lists services and runs a blocking query that
#   wakes on a registration;
# - curl: the field names and headers, ?passing, a drained instance's
#   maintenance check, blocking queries, writes refused.
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
DB="--backend-option catalog-sqlite.path=$WORK/consul.db --heartbeat-interval 300ms --ttl 3s"
CHECK="--check health-tcp --check-interval 300ms --check-timeout 200ms"
# The agent registers itself as role web, on its own port: a target that
# answers /metrics and passes its TCP check.
start agent run --http "$PORT" --role web --address "127.0.0.1:$PORT" --meta "tags=blue,v1" --meta team=core $CHECK $DB
WEB=""
for t in $(seq 1 100); do
    WEB=$(curl -sf "$A/v1/roles/web" | python3 -c "import json,sys; print(json.load(sys.stdin)['instances'][0]['id'])" 2>/dev/null) &&
        [ -n "$WEB" ] && break
    sleep 0.1
done
[ -n "$WEB" ] || fail "the agent did not list its own instance"
# A web instance whose port nothing listens on: critical.
DEAD=$(free_port)
BAD=99999999-9999-4999-8999-999999999999
start bad run --role web --address "127.0.0.1:$DEAD" --id $BAD $CHECK $DB

critical_seen() { curl -s "$A/v1/health/service/web" | grep -q '"Status": "critical"'; }
for t in $(seq 1 100); do critical_seen && break; sleep 0.1; done
critical_seen || fail "the instance with nothing on its port is not critical in /v1/health/service/web"

# The field names and headers Consul's documentation gives.
curl -s -D headers.txt "$A/v1/health/service/web?passing" >passing.json
grep -qi '^X-Consul-Index: [1-9]' headers.txt || fail "no X-Consul-Index: $(cat headers.txt)"
grep -qi '^X-Consul-KnownLeader: true' headers.txt || fail "no X-Consul-KnownLeader"
grep -qi '^X-Consul-LastContact: 0' headers.txt || fail "no X-Consul-LastContact"
python3 - "$WEB" "$PORT" passing.json <<'PY' || fail "/v1/health/service/web?passing: $(cat passing.json)"
import json, sys
web, port = sys.argv[1], int(sys.argv[2])
entries = json.load(open(sys.argv[3]))
assert [e["Service"]["ID"] for e in entries] == [web], entries
e = entries[0]
assert e["Service"]["Service"] == "web" and e["Service"]["Port"] == port and e["Service"]["Address"] == "127.0.0.1"
assert e["Service"]["Tags"] == ["blue", "v1"] and e["Service"]["Meta"] == {"team": "core"}, e["Service"]
assert e["Node"]["Node"] == "127.0.0.1" and e["Node"]["Datacenter"] == "dc1"
assert [c["Status"] for c in e["Checks"]] == ["passing"]
PY
curl -s "$A/v1/catalog/service/web" | python3 -c "
import json, sys
e = json.load(sys.stdin)
assert sorted(x['ServiceID'] for x in e) == sorted(['$WEB', '$BAD']), e
assert all(x['ServiceName'] == 'web' and isinstance(x['ServicePort'], int) for x in e)" ||
    fail "/v1/catalog/service/web does not hold both instances in catalog form"
curl -s "$A/v1/catalog/services" | python3 -c "
import json, sys; s = json.load(sys.stdin); assert s == {'web': ['blue', 'v1']}, s" ||
    fail "/v1/catalog/services is not {web: [blue, v1]}"
curl -s "$A/v1/agent/self" | python3 -c "
import json, sys; assert json.load(sys.stdin)['Config']['Datacenter'] == 'dc1'" || fail "/v1/agent/self has no Config.Datacenter"
pass "Consul's fields and headers: health (?passing), catalog service and services, agent/self"

# Drained: Consul's maintenance check, and out of ?passing.
"$HOST" drain --id "$WEB" $DB >/dev/null || fail "drain failed"
for t in $(seq 1 100); do curl -s "$A/v1/health/service/web" | grep -q '_service_maintenance' && break; sleep 0.1; done
curl -s "$A/v1/health/service/web" | grep -q "\"_service_maintenance:$WEB\"" || fail "a drained instance has no maintenance check"
[ "$(curl -s "$A/v1/health/service/web?passing")" = "[]" ] || fail "a drained instance is still in ?passing"
"$HOST" drain --undo --id "$WEB" $DB >/dev/null || fail "drain --undo failed"
for t in $(seq 1 100); do [ "$(curl -s "$A/v1/health/service/web?passing")" != "[]" ] && break; sleep 0.1; done
pass "a drained instance carries Consul's maintenance check and leaves ?passing"

# A blocking query on the catalog wakes on a registration of a new role.
index=$(curl -s -D - -o /dev/null "$A/v1/catalog/services" | tr -d '\r' | sed -n 's/^X-Consul-Index: //Ip')
(curl -s -m 30 "$A/v1/catalog/services?index=$index&wait=20s" >blocked.json; millis >blocked.at) &
sleep 0.5
t0=$(millis)
start other run --role api --address 127.0.0.1:9 $DB
for t in $(seq 1 100); do [ -s blocked.at ] && break; sleep 0.1; done
[ -s blocked.at ] || fail "the blocking query on /v1/catalog/services did not return"
grep -q '"api"' blocked.json || fail "the blocking query's answer lacks the new role: $(cat blocked.json)"
pass "a blocking query on /v1/catalog/services returned $(( $(cat blocked.at) - t0 )) ms after a registration"

expect_status() {  # expect_status CODE METHOD PATH
    got=$(curl -s -o /dev/null -w '%{http_code}' -X "$2" "$A$3")
    [ "$got" = "$1" ] || fail "$2 $3 answered $got, not $1"
}
expect_status 405 PUT /v1/catalog/register
expect_status 405 PUT /v1/health/service/web
expect_status 500 GET "/v1/health/service/web?dc=elsewhere"
expect_status 400 GET "/v1/health/service/web?index=x"
[ "$(curl -s "$A/v1/health/service/No_Such")" = "[]" ] || fail "an unknown service is not []"
pass "writes refused (405), another datacenter 500, a bad index 400, an unknown service []"

# Consul service discovery in a Prometheus job, unchanged: the passing
# instances of web. Prometheus' own configuration format, read by
# VictoriaMetrics (the same consul_sd_configs and relabel_configs).
if command -v victoria-metrics >/dev/null; then
    SCRAPER=$(free_port)
    cat >prometheus.yml <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: muster
    consul_sd_configs:
      - server: "127.0.0.1:$PORT"
        services: [web]
    relabel_configs:
      - source_labels: [__meta_consul_health]
        regex: passing
        action: keep
YML
    victoria-metrics -promscrape.config=prometheus.yml -promscrape.consulSDCheckInterval=1s \
        -httpListenAddr="127.0.0.1:$SCRAPER" -storageDataPath="$WORK/vm" >scraper.log 2>&1 &
    PIDS="$PIDS $!"
    targets() {
        curl -s "http://127.0.0.1:$SCRAPER/api/v1/targets?state=active" 2>/dev/null | python3 -c "
import json, sys
print(' '.join(sorted(t['labels']['instance'] for t in json.load(sys.stdin)['data']['activeTargets'])))" 2>/dev/null
    }
    wait_targets() {  # wait_targets WANT SECONDS
        for t in $(seq 1 $(($2 * 5))); do [ "$(targets)" = "$1" ] && return 0; sleep 0.2; done
        return 1
    }
    wait_targets "127.0.0.1:$PORT" 30 || fail "the scraper's targets are '$(targets)', not the passing web instance"
    pass "consul_sd_configs (VictoriaMetrics) scrapes exactly the passing instance of web"
    # A new passing instance: the scraper's own port answers /metrics too.
    C=abababab-abab-4bab-8bab-abababababab
    start c run --role web --address "127.0.0.1:$SCRAPER" --id $C $CHECK $DB
    want=$(printf '%s\n' "127.0.0.1:$PORT" "127.0.0.1:$SCRAPER" | sort | tr '\n' ' ' | sed 's/ $//')
    t0=$(millis)
    wait_targets "$want" 30 || fail "the scraper did not follow a registration: targets '$(targets)'"
    pass "consul_sd_configs followed a registration in $(( $(millis) - t0 )) ms"
    kill -TERM "$PID_c"; wait "$PID_c"
    t0=$(millis)
    wait_targets "127.0.0.1:$PORT" 30 || fail "the scraper did not follow a deregistration: targets '$(targets)'"
    pass "consul_sd_configs followed a deregistration in $(( $(millis) - t0 )) ms"
else
    echo "skip: victoria-metrics not installed, Consul discovery in a scrape job was not run"
fi

# The consul npm package: services listed, a blocking query woken.
if command -v node >/dev/null && command -v npm >/dev/null; then
    mkdir client && (cd client && npm install --silent --no-audit --no-fund consul@2 >/dev/null 2>&1) ||
        fail "npm install consul failed"
    cat >client/watch.cjs <<'JS'
const Consul = require("consul");
const consul = new Consul({ host: "127.0.0.1", port: Number(process.argv[2]) });
(async () => {
  const services = await consul.catalog.service.list();
  console.log("services " + Object.keys(services).sort().join(","));
  const watch = consul.watch({ method: consul.health.service, options: { service: "late", passing: true, wait: "20s" } });
  let first = true;
  watch.on("change", (data) => {
    if (first) { first = false; console.log("initial " + data.length); return; }
    console.log("changed " + data.map((e) => e.Service.ID).join(","));
    watch.end();
    process.exit(0);
  });
  watch.on("error", (err) => { console.log("error " + err); process.exit(1); });
})();
JS
    (cd client && exec node watch.cjs "$PORT") >node.log 2>&1 &
    PIDS="$PIDS $!"
    wait_for node.log "initial 0" 20 || fail "the consul client's watch did not start"
    grep -q "services api,web" node.log || fail "the consul client listed $(grep services node.log)"
    LATE=cdcdcdcd-cdcd-4dcd-8dcd-cdcdcdcdcdcd
    start late run --role late --address 127.0.0.1:9 --id $LATE $DB
    wait_for node.log "changed $LATE" 20 || fail "the consul client's blocking query did not wake: $(cat node.log)"
    pass "the consul npm client lists services, and its blocking query wakes on a registration"
else
    echo "skip: node/npm not installed, the consul npm client was not run"
fi
