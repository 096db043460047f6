#!/bin/sh
# A role far bigger than one read deadline's worth of rows: 300,000
# instances written straight into catalog-sqlite (and catalog-postgres when
# a server is given; 40,000 in etcd) are listed in full by `list` and by the registry's
# first resolve (`pick`), with a read deadline of 500 ms that the whole
# answer does not meet (about 1.3 s on an idle machine, more beside a
# build) but every row does: a deadline measures silence, not size
# (docs/chain.md). The deadline is wide for a reason: beside the sanitizer
# build of a CI run, 100 ms was missed by a first row or a row-to-row gap
# (a CPU-throttled container stalls a whole process for most of a 100 ms
# period). No timing is asserted: muster-bench-scale measures.
. "$(dirname "$0")/lib.sh"
N=300000
# twice NAME ARGS...: muster-host ARGS, tried once more after a "no answer
# within" (output in NAME.out, NAME.err). A CI machine compiling beside the
# test can stall a process for longer than the deadline; a deadline that
# measured the whole answer (1.3 s) instead of silence fails both tries.
twice() {
    name=$1; shift
    "$HOST" "$@" >"$name.out" 2>"$name.err" && return 0
    grep -q "no answer within" "$name.err" || return 1
    echo "note: $name: $(cat "$name.err"); trying once more"
    "$HOST" "$@" >"$name.out" 2>"$name.err"
}
now_ms=$(($(date +%s) * 1000))

SQ="--chain catalog-sqlite --backend-option catalog-sqlite.path=$WORK/big.db --ttl 2h --heartbeat-interval 10s"
"$HOST" list $SQ >/dev/null || fail "could not create the sqlite store"
sqlite3 "$WORK/big.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
  INSERT INTO instances SELECT printf('%08x-0000-4000-8000-%012x', i, i), 'big',
  printf('10.%d.%d.%d:80', i / 65536, (i / 256) % 256, i % 256), '{\"zone\":\"a\"}', 0, $now_ms, $now_ms, NULL
  FROM n;" || fail "could not fill the sqlite store"
twice list list $SQ --role big --read-timeout 500ms || fail "list of $N on catalog-sqlite: $(cat list.err)"
tail -1 list.out | grep -q "^$N instance(s), from catalog-sqlite" || fail "list on catalog-sqlite: $(tail -1 list.out)"
twice json list $SQ --role big --read-timeout 500ms --json || fail "list --json of $N on catalog-sqlite: $(cat json.err)"
python3 -c "import json; assert len(json.load(open('json.out'))) == $N" ||
    fail "list --json on catalog-sqlite does not hold $N instances"
twice pick pick $SQ --role big --read-timeout 500ms || fail "pick of $N on catalog-sqlite: $(cat pick.err)"
pass "$N instances of one role on catalog-sqlite: list, list --json and the registry's first resolve answer in full"

# The agent's event stream of the whole role: every instance as `added`,
# then `synced`, though far more than the stream's queue (1,024 events)
# would hold: the starting state is written from the shared snapshot.
PORT=$(free_port)
start agent run --http "$PORT" $SQ --read-timeout 500ms
wait_for agent.log "HTTP API on" 10 || fail "the agent did not listen"
python3 - "http://127.0.0.1:$PORT/v1/watch?role=big" >stream.out <<'PY'
import sys, urllib.request
added = 0
for line in urllib.request.urlopen(sys.argv[1], timeout=120):
    if line.startswith(b"event: added"):
        added += 1
    elif line.startswith(b"event: synced"):
        break
print(added)
PY
[ "$(cat stream.out)" = "$N" ] || fail "the event stream of $N instances sent $(cat stream.out) before synced"
pass "the agent's event stream of $N instances sends each as added, then synced"

if [ -n "${MUSTER_TEST_PG_URL:-}" ]; then
    schema="big_$$"
    PG="--chain catalog-postgres --backend-option catalog-postgres.url=$MUSTER_TEST_PG_URL
        --backend-option catalog-postgres.schema=$schema --ttl 2h --heartbeat-interval 10s"
    "$HOST" list $PG >/dev/null || fail "could not create the postgres schema"
    psql -q "$MUSTER_TEST_PG_URL" -c "INSERT INTO $schema.instances (id, role, address, metadata, health)
      SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'big', '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256) || ':80',
      '{\"zone\":\"a\"}', 0 FROM generate_series(1, $N) i" || fail "could not fill the postgres schema"
    twice list list $PG --role big --read-timeout 500ms || fail "list of $N on catalog-postgres: $(cat list.err)"
    tail -1 list.out | grep -q "^$N instance(s), from catalog-postgres" || fail "list on catalog-postgres: $(tail -1 list.out)"
    psql -q "$MUSTER_TEST_PG_URL" -c "DROP SCHEMA $schema CASCADE"
    pass "$N instances of one role on catalog-postgres: list answers in full"
fi

# etcd counts the whole range for each page of it, so the plugin reads a
# big range as narrower ones (plugins/etcd/kv.cpp, Kv::scan): 30,000 in
# one role and 10,000 over roles whose names share their first bytes with
# it and sit on both sides of it, listed by role and whole; every id once.
if [ -n "${MUSTER_TEST_ETCD_URL:-}" ]; then
    prefix="/big_$$"
    python3 - "$MUSTER_TEST_ETCD_URL" "$prefix" "$now_ms" <<'PY' || fail "could not fill etcd"
import base64, json, sys, urllib.request, uuid
url, prefix, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
b64 = lambda s: base64.b64encode(s.encode()).decode()
others = ["a", "b", "bi", "big-x", "bigger", "big_2", "z"]
puts = []
for i in range(40000):
    role, id = "big" if i < 30000 else others[i % 7], str(uuid.uuid4())
    doc = {"id": id, "role": role, "address": "10.%d.%d.%d:80" % (i >> 16, i >> 8 & 255, i & 255),
           "metadata": {}, "health": "passing", "registered_at_ms": now, "written_at_ms": now, "last_seen_ms": now}
    puts.append({"request_put": {"key": b64("%s/%s/%s" % (prefix, role, id)), "value": b64(json.dumps(doc))}})
    if len(puts) == 128 or i == 39999:
        urllib.request.urlopen(url + "/v3/kv/txn", json.dumps({"success": puts}).encode()).read()
        puts = []
PY
    ET="--chain etcd --backend-option etcd.endpoints=$MUSTER_TEST_ETCD_URL --backend-option etcd.prefix=$prefix
        --ttl 2h --heartbeat-interval 10s"
    for what in "--role big:30000" ":40000"; do
        twice etcd list $ET ${what%%:*} --read-timeout 500ms --json || fail "list ${what%%:*} on etcd: $(cat etcd.err)"
        python3 -c "import json; ids = [i['id'] for i in json.load(open('etcd.out'))]; assert len(ids) == len(set(ids)) == ${what##*:}, len(ids)" ||
            fail "list ${what%%:*} on etcd does not hold ${what##*:} instances once each"
    done
    curl -s -X POST "$MUSTER_TEST_ETCD_URL/v3/kv/deleterange" -d "{\"key\":\"$(printf '%s/' "$prefix" | base64)\",
        \"range_end\":\"$(printf '%s0' "$prefix" | base64)\"}" >/dev/null
    pass "40,000 instances on etcd (30,000 in one role): list of the role and of every role answer in full, each once"
fi
