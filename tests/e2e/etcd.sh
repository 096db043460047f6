#!/bin/sh
# muster-host on etcd (docs/plugins/etcd.md): run and watch through
# [backend.etcd]; what etcdctl reads is what `list --json` shows; a stop is
# seen at once, a kill -9 when the lease expires; a chain "etcd,
# catalog-sqlite" and "catalog-sqlite, etcd" go on through etcd killed
# (-9), frozen (SIGSTOP) and restarted with its data directory wiped, a
# watcher of the chain loses nothing, and etcd holds the instance again
# after each; a watch whose revision was compacted away re-lists; with etcd's authentication on, the password is in no
# output; bad options are one line and exit 3. Skipped (77) without a server.
[ -n "${MUSTER_TEST_ETCD_URL:-}" ] || exit 77
. "$(dirname "$0")/lib.sh"
export ETCDCTL_API=3
# wait_until SECONDS COMMAND...: true once COMMAND succeeds.
wait_until() {
    limit=$1; shift
    end=$(( $(millis) + limit * 1000 ))
    while [ "$(millis)" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
    return 1
}
ctl() { etcdctl --endpoints "$MUSTER_TEST_ETCD_URL" --command-timeout 3s "$@"; }
P="/e2e_$$"
cat >etcd.toml <<TOML
[discovery]
chain = "etcd"
heartbeat_interval = "300ms"
ttl = "2s"

[backend.etcd]
endpoints = "$MUSTER_TEST_ETCD_URL"
prefix = "$P"
TOML
A=44444444-4444-4444-8444-444444444444
B=55555555-5555-4555-8555-555555555555
start watcher watch --config etcd.toml --json
start a run --config etcd.toml --role querier --address 127.0.0.1:9002 --id $A --meta "quote=it's \"q\""
start b run --config etcd.toml --role querier --address 127.0.0.1:9003 --id $B
wait_for watcher.log "\"added\".*$A" 15 || fail "the watcher did not see the first querier on etcd"
wait_for watcher.log "\"added\".*$B" 15 || fail "the watcher did not see the second querier on etcd"
pass "run and watch on [backend.etcd]"

# etcdctl reads the documented key and JSON document.
ctl get "$P/querier/$A" --print-value-only >doc.json || fail "etcdctl could not read $P/querier/$A"
for field in "\"id\":\"$A\"" '"role":"querier"' '"address":"127.0.0.1:9002"' '"health":"passing"' \
             '"quote":"it'"'"'s \"q\""' '"registered_at_ms":' '"last_seen_ms":'; do
    grep -qF "$field" doc.json || fail "the document lacks $field: $(cat doc.json)"
done
ctl get "$P/" --prefix --keys-only | grep . | sed "s|^$P/querier/||" | sort >etcdctl.ids
"$HOST" list --config etcd.toml --role querier --json |
    python3 -c "import json,sys; print('\n'.join(sorted(i['id'] for i in json.load(sys.stdin))))" >list.ids
cmp -s etcdctl.ids list.ids || fail "etcdctl get --prefix holds $(cat etcdctl.ids | tr '\n' ' '), list --json $(cat list.ids | tr '\n' ' ')"
pass "etcdctl get --prefix reads what list --json shows, in the documented form"

kill -TERM "$PID_a"; wait "$PID_a" || fail "run on etcd did not exit 0"
wait_for watcher.log "\"removed\".*$A" 5 || fail "the watcher did not see the stop at once"
[ -z "$(ctl get "$P/querier/$A")" ] || fail "the key of a stopped instance is still in etcd"
pass "SIGTERM: a stop deletes the key, and the watcher sees it at once"

kill -9 "$PID_b"
wait_for watcher.log "\"removed\".*$B" 10 || fail "the watcher did not see a killed instance go within its ttl"
gone() { [ -z "$(ctl get "$P/querier/$B")" ]; }
wait_until 10 gone || fail "the key of a killed instance outlived its lease"
pass "kill -9: the instance goes when its lease expires"

# The chain, etcd as first link and as second: through etcd killed (-9),
# frozen (SIGSTOP) and wiped, list answers, run goes on, a watcher of the
# chain loses nothing (no REMOVED), and etcd holds the instance again after.
# chain_faults ORDER ID ROLE
chain_faults() {
    order=$1 id=$2 role=$3
    CHAIN="--config etcd.toml --chain $order --backend-option catalog-sqlite.path=$WORK/chain.db"
    start c run $CHAIN --role "$role" --address 127.0.0.1:9100 --id "$id"
    start cw watch $CHAIN --role "$role" --json
    in_etcd() { ctl get "$P/$role/$id" --print-value-only 2>/dev/null | grep -q "$id"; }
    listed() { "$HOST" list $CHAIN --role "$role" 2>/dev/null | grep -q "$id"; }
    wait_until 15 in_etcd || fail "[$order] the chain's instance did not reach etcd"
    wait_for cw.log "\"added\".*$id" 15 || fail "[$order] the chain's watcher did not see the instance"

    sh -c "$MUSTER_TEST_ETCD_KILL"
    listed || fail "[$order] with etcd killed, list did not answer"
    sh -c "$MUSTER_TEST_ETCD_START" || fail "etcd did not start again"
    wait_until 20 in_etcd || fail "[$order] after etcd came back, the instance is not in etcd"
    pass "[$order] etcd killed (-9): list answers, and etcd holds the instance again after"

    sh -c "$MUSTER_TEST_ETCD_FREEZE"
    t0=$(millis)
    listed || { sh -c "$MUSTER_TEST_ETCD_THAW"; fail "[$order] with etcd frozen, list did not answer"; }
    took=$(( $(millis) - t0 ))
    sleep 3  # heartbeats meet the frozen store for longer than the ttl
    sh -c "$MUSTER_TEST_ETCD_THAW"
    kill -0 "$PID_c" 2>/dev/null || fail "[$order] run exited while etcd was frozen"
    wait_until 20 in_etcd || fail "[$order] after etcd thawed, the instance is not in etcd"
    pass "[$order] etcd frozen (SIGSTOP) for 3 s: list answers ($took ms), run goes on"

    sh -c "$MUSTER_TEST_ETCD_WIPE" || fail "etcd did not start with its data wiped"
    wait_until 20 in_etcd || fail "[$order] after etcd lost its data, the instance was not written again"
    pass "[$order] etcd restarted with its data directory wiped: the instance is written again"
    listed || fail "[$order] after the faults, list does not hold the instance"
    ! grep -q "\"removed\".*$id" cw.log || fail "[$order] the chain's watcher was told the instance went"
    pass "[$order] the chain's watcher lost nothing through the three faults"
    kill -TERM "$PID_c"; wait "$PID_c" || fail "[$order] run on the chain did not exit 0"
    kill -TERM "$PID_cw"
}
chain_faults etcd,catalog-sqlite 66666666-6666-4666-8666-666666666666 router
chain_faults catalog-sqlite,etcd 88888888-8888-4888-8888-888888888888 acceptor

# A watch whose revision was compacted away re-lists: a watcher of role
# "compacted" sees E; other keys move the store's revision on, etcd
# compacts to its newest and restarts (the watch reconnects from a revision
# that is gone); the watcher goes on, without telling E went, and sees F.
E=99999999-aaaa-4aaa-8aaa-aaaaaaaaaaaa
F=99999999-bbbb-4bbb-8bbb-bbbbbbbbbbbb
start cwatch watch --config etcd.toml --role compacted --json
start e run --config etcd.toml --role compacted --address 127.0.0.1:9400 --id $E
wait_for cwatch.log "\"added\".*$E" 15 || fail "the watcher did not see the first compacted-role instance"
for i in $(seq 1 20); do ctl put "/elsewhere_$$/k" "$i" >/dev/null; done
rev=$(ctl get "/elsewhere_$$/k" --write-out=json | python3 -c "import json,sys; print(json.load(sys.stdin)['header']['revision'])")
sh -c "$MUSTER_TEST_ETCD_STOP"
sh -c "$MUSTER_TEST_ETCD_START" || fail "etcd did not start again"
ctl compact "$rev" >/dev/null || fail "etcdctl compact $rev failed"
start f run --config etcd.toml --role compacted --address 127.0.0.1:9401 --id $F
wait_for cwatch.log "\"added\".*$F" 20 || fail "after a compaction the watcher did not see a new instance"
! grep -q "\"removed\".*$E" cwatch.log || fail "after a compaction the watcher was told a running instance went"
pass "a watch whose revision was compacted away re-lists and goes on, losing nothing"
kill -TERM "$PID_e" "$PID_f"; wait "$PID_e" "$PID_f"
ctl del "/elsewhere_$$/" --prefix >/dev/null

# Authentication: the password is in no output, log or error.
SECRET="pw-$$-never-shown"
disable_auth() {
    ctl --user "root:$SECRET" auth disable >/dev/null 2>&1
    ctl user delete root >/dev/null 2>&1
    ctl role delete root >/dev/null 2>&1
}
ctl role add root >/dev/null 2>&1  # there already after an earlier run that stopped half-way
ctl user add "root:$SECRET" >/dev/null || fail "etcdctl user add failed"
ctl user grant-role root root >/dev/null || { disable_auth; fail "etcdctl user grant-role failed"; }
ctl --user "root:$SECRET" auth enable >/dev/null || { disable_auth; fail "etcdctl auth enable failed"; }
ctl get /anything >/dev/null 2>&1 && { disable_auth; fail "etcd answers without credentials: authentication is not on"; }
AUTH="--config etcd.toml --backend-option etcd.username=root --backend-option etcd.password=$SECRET"
D=77777777-7777-4777-8777-777777777777
start d run $AUTH --role writer --address 127.0.0.1:9200 --id $D
wait_until 15 sh -c "\"$HOST\" list $AUTH --role writer 2>&1 | grep -q $D" ||
    { disable_auth; fail "with authentication, the instance was not listed"; }
"$HOST" list $AUTH --json >auth.out 2>&1
"$HOST" status $AUTH >>auth.out 2>&1
"$HOST" list --config etcd.toml --backend-option etcd.username=root --backend-option etcd.password=wrong-$SECRET \
    >wrong.out 2>&1 && { disable_auth; fail "a wrong password listed"; }
grep -q "authentication as 'root' failed" wrong.out || { disable_auth; fail "a wrong password was not told: $(cat wrong.out)"; }
kill -TERM "$PID_d"; wait "$PID_d"
disable_auth
if grep -l -- "$SECRET" "$WORK"/*.log "$WORK"/*.out; then fail "the etcd password appears in the output above"; fi
pass "etcd authentication: lists and runs; a wrong password is told; the password appears nowhere"

expect 3 "option 'endpoints'" list --chain etcd --backend-option etcd.endpoints=ftp://127.0.0.1:1
expect 3 "option 'prefix'" list --chain etcd --backend-option etcd.prefix=muster/
ctl del "$P" --prefix >/dev/null
ctl del "$P.ids/" --prefix >/dev/null
