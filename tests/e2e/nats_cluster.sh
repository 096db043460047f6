#!/bin/sh
# A three-node NATS cluster on loopback, a bucket with replicas = 3, one
# node killed with -9 mid-run: the running host keeps its registrations
# alive and its watch (its cache) loses nothing; once the node is back a
# fresh client lists every instance. Needs nats-server (77 without it).
# (Fresh clients may time out while the node is down: see
# docs/plugins/nats-kv.md, "A cluster losing a node".)
command -v nats-server >/dev/null || exit 77
. "$(dirname "$0")/lib.sh"
base=$(free_port 6)
routes="nats-route://127.0.0.1:$((base + 3)), nats-route://127.0.0.1:$((base + 4)), nats-route://127.0.0.1:$((base + 5))"
for n in 0 1 2; do
    mkdir -p "n$n"
    cat >"n$n.conf" <<CONF
server_name: n$n
listen: 127.0.0.1:$((base + n))
jetstream { store_dir: "$WORK/n$n" }
cluster { name: muster-test, listen: 127.0.0.1:$((base + 3 + n)), routes: [$routes] }
CONF
    nats-server -c "n$n.conf" >"node$n.log" 2>&1 &
    eval "NODE$n=$!"
    PIDS="$PIDS $!"
done
urls="nats://127.0.0.1:$base, nats://127.0.0.1:$((base + 1)), nats://127.0.0.1:$((base + 2))"
cat >cluster.toml <<TOML
[discovery]
chain = "nats-kv"
heartbeat_interval = "500ms"
ttl = "4s"

[backend.nats-kv]
url = "$urls"
bucket = "cluster"
replicas = 3
request_timeout = "5s"

[service.acceptor]
role = "acceptor"
address = "127.0.0.1:4317"

[service.writer]
role = "writer"
address = "127.0.0.1:50051"

[service.querier]
role = "querier"
address = "127.0.0.1:50053"
TOML
# JetStream needs its meta leader before a replicated bucket can be made.
ready=""
for i in $(seq 1 60); do
    "$HOST" list --config cluster.toml >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.5
done
[ -n "$ready" ] || fail "the cluster never became ready for a bucket with replicas = 3"
pass "three-node cluster up, bucket with replicas = 3"

start host run --config cluster.toml --watch '*'
wait_for host.log "running 3 service" 15 || fail "run on the cluster did not start"
wait_for host.log "topology: added querier" 15 || fail "the host's watch did not see its own services"

# A reader retries a timed-out call, as a client of a cluster in the middle
# of an election does.
answered() {
    for try in 1 2 3 4 5 6; do
        "$HOST" list --config cluster.toml --json >now.json 2>list.err && return 0
        sleep 0.5
    done
    return 1
}
answered && [ "$(grep -c '"id"' now.json)" -eq 3 ] || fail "not 3 instances before the fault"

kill -9 "$NODE0"
pass "node n0 killed with -9"
sleep 6
kill -0 "$PID_host" || fail "the host died with the node"
grep -q "topology: removed" host.log && fail "the host's watch reported a live instance removed"
pass "6 s (beyond the 4 s ttl) without n0: the host kept heartbeating and its watch lost nothing"

nats-server -c n0.conf >>node0.log 2>&1 &
PIDS="$PIDS $!"
# A replica that rejoins may serve a read before it has caught up; the
# registrations are there once it has.
listed=0
for i in $(seq 1 30); do
    answered && listed=$(grep -c '"id"' now.json)
    [ "$listed" -eq 3 ] && break
    sleep 0.5
done
[ "$listed" -eq 3 ] || fail "after the fault, list answered $listed instances (want 3)"
pass "no registration lost: all 3 listed by a fresh client"

kill -TERM "$PID_host"; wait "$PID_host" || fail "run did not exit 0 after the node failure"
grep -q "deregistered" host.log || fail "the host did not deregister on SIGTERM"
# A replica that rejoined may still answer a read from before the deletes.
left=-1
for i in $(seq 1 20); do
    answered && left=$(grep -c '"id"' now.json)
    [ "$left" -eq 0 ] && break
    sleep 0.5
done
[ "$left" -eq 0 ] || fail "the graceful stop did not delete the keys ($left still listed after 10 s)"
pass "graceful stop deletes every key"
