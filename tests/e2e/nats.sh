#!/bin/sh
# muster-host on nats-kv: through [backend.nats-kv] and through the seed's
# [queue] kind = "nats"; and the stored document read by an independent
# client (the `nats` npm package under node). Skipped (77) without a server.
[ -n "${MUSTER_TEST_NATS_URL:-}" ] || exit 77
. "$(dirname "$0")/lib.sh"
cat >nats.toml <<TOML
[discovery]
chain = "nats-kv"
heartbeat_interval = "500ms"
ttl = "3s"

[backend.nats-kv]
url = "$MUSTER_TEST_NATS_URL"
bucket = "e2e_$$"
TOML
ID=33333333-3333-4333-8333-333333333333
have_node=""
if command -v node >/dev/null && command -v npm >/dev/null; then
    mkdir client && (cd client && npm install --silent --no-audit --no-fund nats@2 >/dev/null 2>&1) \
        || fail "npm install nats failed"
    have_node=1
    # The seed's subject events, heard by a plain NATS subscriber.
    cat >client/listen.mjs <<'JS'
import { connect } from "nats";
const nc = await connect({ servers: process.argv[2] });
const sub = nc.subscribe("services.>");
for await (const m of sub) console.log(m.subject + " " + new TextDecoder().decode(m.data));
JS
    (cd client && exec node listen.mjs "$MUSTER_TEST_NATS_URL") >subjects.log 2>&1 &
    PIDS="$PIDS $!"
    sleep 1
fi
start watcher watch --config nats.toml --json
start a run --config nats.toml --role querier --address 127.0.0.1:9002 --id $ID --meta "quote=it's \"q\""
wait_for watcher.log "\"added\".*$ID" 15 || fail "the watcher did not see the querier on nats-kv"
pass "run and watch on [backend.nats-kv]"

if [ -n "$have_node" ]; then
    cat >client/read.mjs <<'JS'
import { connect } from "nats";
const [url, bucket, key] = process.argv.slice(2);
const nc = await connect({ servers: url });
const kv = await nc.jetstream().views.kv(bucket);
const e = await kv.get(key);
console.log(new TextDecoder().decode(e.value));
await nc.close();
JS
    (cd client && node read.mjs "$MUSTER_TEST_NATS_URL" "e2e_$$" "querier.$ID") >doc.json 2>client.log \
        || fail "the independent client could not read querier.$ID: $(cat client.log)"
    for field in "\"id\":\"$ID\"" '"role":"querier"' '"address":"127.0.0.1:9002"' '"health":"passing"' \
                 '"quote":"it'"'"'s \"q\""' '"registered_at_ms":'; do
        grep -qF "$field" doc.json || fail "the document lacks $field: $(cat doc.json)"
    done
    pass "an independent NATS client (node, npm nats) reads the documented JSON"
else
    echo "skip: node/npm not installed, the independent-client read was not run"
fi

# A drain from another process outlives the owner's heartbeats, which on
# nats-kv put the owner's value again (every 500 ms here): the owner takes
# the mark in from its watch and writes it back at once.
"$HOST" drain --config nats.toml --id $ID >drain.out 2>&1 || fail "drain on nats-kv failed: $(cat drain.out)"
for i in 1 2 3 4 5 6; do
    sleep 0.5
    "$HOST" list --config nats.toml --role querier --json | grep -q '"muster.drain": "true"' ||
        fail "the drain mark was lost $((i * 500)) ms after muster-host drain (the owner's heartbeat wrote over it)"
done
"$HOST" drain --config nats.toml --id $ID --undo >drain.out 2>&1 || fail "drain --undo failed: $(cat drain.out)"
sleep 1.5
"$HOST" list --config nats.toml --role querier --json | grep -q '"muster.drain": "true"' && fail "the undone drain came back"
pass "a drain from another process holds through the owner's heartbeats on nats-kv, and its undo too"

kill -TERM "$PID_a"; wait "$PID_a" || fail "run on nats-kv did not exit 0"
wait_for watcher.log "\"removed\".*$ID" 5 || fail "the watcher did not see the removal at once"
pass "SIGTERM deletes the key: the watcher sees the removal at once"
if [ -n "$have_node" ]; then
    wait_for subjects.log "services.querier.register .*$ID" 5 || fail "no event on services.querier.register"
    wait_for subjects.log "services.querier.deregister .*$ID" 5 || fail "no event on services.querier.deregister"
    pass "the seed's subjects services.<role>.register/deregister carry the events"
fi

cat >seed.toml <<TOML
[database]
url = "sqlite://signaldb.db"

[discovery]
enabled = true
heartbeat_interval = "30s"

[queue]
kind = "nats"
url = "$MUSTER_TEST_NATS_URL"
TOML
start seed run --config seed.toml --ttl 90s --role acceptor --address 127.0.0.1:4317 --backend-option nats-kv.bucket=seed_$$
wait_for seed.log "running 1 service" 15 || fail "the seed's configuration with [queue] kind = nats did not run"
"$HOST" list --config seed.toml --ttl 90s --backend-option nats-kv.bucket=seed_$$ | grep -q "from nats-kv" \
    || fail "list on the seed's configuration did not answer from nats-kv"
kill -TERM "$PID_seed"; wait "$PID_seed" || fail "run on the seed's configuration did not exit 0"
pass "the seed's [queue] kind = \"nats\" runs as written: chain nats-kv, catalog-sqlite"
