#!/bin/sh
# Health checks in muster-host: a [check.NAME] with thresholds over
# health-exec, seen by `list --json` and by a watcher in another process as
# `changed`; depends_on; a secret header of a health-http check that never
# shows in any output; bad check settings refused with one line.
. "$(dirname "$0")/lib.sh"
DB="--backend-option catalog-sqlite.path=$WORK/shared.db"
TIMING="--heartbeat-interval 500ms $DB"
echo 2 >state
cat >health.toml <<TOML
[check.state]
plugin = "health-exec"
command = "exit \$(cat $WORK/state)"
shell = true
interval = "200ms"
timeout = "150ms"
success_before_passing = 2
failures_before_critical = 2

[check.web]
plugin = "health-http"
url = "http://127.0.0.1:1/healthz"
headers = "Authorization: Bearer e2e-s3cr3t"
interval = "300ms"
timeout = "200ms"

[service.api]
role = "api"
address = "127.0.0.1:4101"
checks = "state"

[service.front]
role = "front"
address = "127.0.0.1:4102"
checks = "web"

[service.router]
role = "router"
address = "127.0.0.1:4103"
depends_on = "querier"
TOML
start watcher watch --role api $DB
start host run --config health.toml $TIMING
wait_for host.log "running 3 service" 10 || fail "the host did not register its services"
"$HOST" list --role api --json $DB >api.json || fail "list failed"
grep -q '"health": "critical"' api.json || fail "api was not critical at first: $(cat api.json)"
grep -q '"health_reason": "state: exit status 2"' api.json || fail "no reason in list --json: $(cat api.json)"
pass "the first verdict is published with the registration, with its reason"

echo 0 >state
wait_for watcher.log "changed api .* passing" 10 || fail "the watcher saw no change to passing"
pass "a watcher in another process sees the change"

"$HOST" list --role router $DB >router.txt || fail "list failed"
grep -q "warning (dependency querier: 0 of 1 required passing instance(s))" router.txt ||
    fail "router does not warn about its dependency: $(cat router.txt)"
start querier run --role querier --address 127.0.0.1:4104 $TIMING
wait_for host.log "router .* is now passing" 10 || fail "router did not recover when a querier came"
pass "depends_on: warning while querier is missing, passing once one is registered"

"$HOST" list --role front --json $DB >front.json || fail "list failed"
grep -q '"health": "critical"' front.json || fail "front is not critical: $(cat front.json)"
grep -l "e2e-s3cr3t" ./*.log ./*.json ./*.txt 2>/dev/null && fail "the secret header leaked"
pass "a secret header never shows in logs or listings"

cat >bad1.toml <<TOML
[check.x]
interval = "1s"
TOML
expect 3 "a check needs plugin" run --config bad1.toml --role a --address 127.0.0.1:1 $DB
cat >bad2.toml <<TOML
[check.x]
plugin = "health-exec"
command = "true"
interval = "1s"
timeout = "2s"
TOML
expect 3 "must be shorter than interval" run --config bad2.toml --role a --address 127.0.0.1:1 $DB
expect 2 "depends_on 'Bad:1'" run --role a --address 127.0.0.1:1 --depends-on "Bad:1" $DB
expect 2 "is reserved" run --role a --address 127.0.0.1:1 --meta muster.health.reason=x $DB
expect 4 "no health check\|cannot" run --role a --address 127.0.0.1:1 --check memory $DB
