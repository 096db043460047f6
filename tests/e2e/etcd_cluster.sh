#!/bin/sh
# etcd as a 3-member cluster (docs/plugins/etcd.md): muster-host given all
# three endpoints, the leader's first, goes on when the leader is killed
# (-9): the running
# instance stays listed and a watcher is told nothing went, a registration
# made after the kill is seen, a stop is seen and stays stopped (not
# resurrected by the leader coming back). Skipped (77) without etcd.
command -v etcd >/dev/null && command -v etcdctl >/dev/null || exit 77
. "$(dirname "$0")/lib.sh"
export ETCDCTL_API=3
base=$(free_port 6)
cluster=""
for i in 0 1 2; do
    cluster="$cluster${cluster:+,}m$i=http://127.0.0.1:$((base + 2 * i + 1))"
done
start_member() {  # start_member I
    i=$1 client=$((base + 2 * $1)) peer=$((base + 2 * $1 + 1))
    etcd --name "m$i" --data-dir "$WORK/m$i" --initial-cluster-token "muster-$$" \
        --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "$cluster" --initial-cluster-state "${2:-new}" >>"$WORK/m$i.out" 2>&1 &
    eval "PID_m$i=$!"
    PIDS="$PIDS $!"
}
for i in 0 1 2; do start_member $i; done
ENDPOINTS="http://127.0.0.1:$base,http://127.0.0.1:$((base + 2)),http://127.0.0.1:$((base + 4))"
ctl() { etcdctl --endpoints "$ENDPOINTS" --command-timeout 3s "$@"; }
healthy=""
for t in $(seq 1 100); do ctl endpoint health >/dev/null 2>&1 && { healthy=1; break; }; sleep 0.1; done
[ -n "$healthy" ] || fail "the 3-member etcd cluster did not become healthy"
leader=""
for i in 0 1 2; do
    etcdctl --endpoints "http://127.0.0.1:$((base + 2 * i))" endpoint status --write-out=json 2>/dev/null |
        python3 -c "import json,sys; s=json.load(sys.stdin)[0]['Status']; sys.exit(0 if s['leader']==s['header']['member_id'] else 1)" &&
        leader=$i
done
[ -n "$leader" ] || fail "no member says it leads"
# The leader's endpoint first: its death also moves muster's calls and
# watches to another endpoint.
FIRST="http://127.0.0.1:$((base + 2 * leader))"
ORDERED="$FIRST,$(echo "$ENDPOINTS" | tr ',' '\n' | grep -v "^$FIRST\$" | paste -sd, -)"

cat >etcd.toml <<TOML
[discovery]
chain = "etcd"
heartbeat_interval = "300ms"
ttl = "3s"

[backend.etcd]
endpoints = "$ORDERED"
request_timeout = "1s"
dial_timeout = "500ms"
TOML
A=12121212-1212-4212-8212-121212121212
B=34343434-3434-4434-8434-343434343434
start watcher watch --config etcd.toml --role router --json
start a run --config etcd.toml --role router --address 127.0.0.1:9301 --id $A
wait_for watcher.log "\"added\".*$A" 15 || fail "the watcher did not see the instance on the cluster"
pass "run and watch on a 3-member etcd cluster"

eval "kill -9 \$PID_m$leader"
pass "killed the leader, m$leader"

listed() { "$HOST" list --config etcd.toml --role router 2>/dev/null | grep -q "$1"; }
wait_until() {
    limit=$1; shift
    end=$(( $(millis) + limit * 1000 ))
    while [ "$(millis)" -lt "$end" ]; do "$@" && return 0; sleep 0.2; done
    return 1
}
wait_until 15 listed $A || fail "after the leader's death, the instance is not listed"
start b run --config etcd.toml --role router --address 127.0.0.1:9302 --id $B
wait_for watcher.log "\"added\".*$B" 20 || fail "a registration after the leader's death was not seen"
sleep 4  # more than the ttl: heartbeats must have gone on
listed $A || fail "the instance was lost after the leader's death"
! grep -q "\"removed\".*$A" watcher.log || fail "the watcher was told the running instance went"
pass "after the leader's death: nothing lost, a new registration seen"

kill -TERM "$PID_b"; wait "$PID_b" || fail "run did not exit 0"
wait_for watcher.log "\"removed\".*$B" 10 || fail "the stop was not seen"
start_member "$leader" existing
sleep 5  # the old leader rejoins; a lease's worth of time passes
listed $B && fail "the stopped instance came back"
listed $A || fail "the running instance is not listed after the old leader rejoined"
pass "the old leader rejoins: the stopped instance stays stopped, the running one stays"
kill -TERM "$PID_a"; wait "$PID_a" || fail "run did not exit 0"
