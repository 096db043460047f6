#!/bin/sh
# etcd-start.sh DIR: starts a throwaway single-member etcd in DIR on
# 127.0.0.1 on free ports, and writes DIR/env with MUSTER_TEST_ETCD_URL and
# the commands to stop and start it again (same ports, same data), to kill
# it (-9), to freeze and thaw it (SIGSTOP/SIGCONT: a hang, not a death) and
# to restart it with its data directory wiped.
set -eu
dir=$1
. "$(dirname "$0")/server-lib.sh"
command -v etcd >/dev/null || { echo "etcd-start: etcd not found: install etcd-server" >&2; exit 1; }
mkdir -p "$dir"
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$(sh "$(dirname "$0")/free-port.sh")
    peer=$(sh "$(dirname "$0")/free-port.sh")
    [ "$port" != "$peer" ] || continue
    cat >"$dir/start.sh" <<START
#!/bin/sh
etcd --name muster-test --data-dir "$dir/data" \\
    --listen-client-urls http://127.0.0.1:$port --advertise-client-urls http://127.0.0.1:$port \\
    --listen-peer-urls http://127.0.0.1:$peer --initial-advertise-peer-urls http://127.0.0.1:$peer \\
    --initial-cluster muster-test=http://127.0.0.1:$peer --log-outputs stderr \\
    >>"$dir/server.log" 2>&1 &
echo \$! >"$dir/pid"
for i in \$(seq 1 200); do
    ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:$port --command-timeout 1s endpoint health >/dev/null 2>&1 && exit 0
    kill -0 "\$(cat "$dir/pid")" 2>/dev/null || exit 1
    sleep 0.05
done
exit 1
START
    write_stop_script "$dir"
    : >"$dir/server.log"
    if sh "$dir/start.sh"; then
        cat >"$dir/env" <<ENV
MUSTER_TEST_ETCD_URL='http://127.0.0.1:$port'
MUSTER_TEST_ETCD_STOP='sh $dir/stop.sh'
MUSTER_TEST_ETCD_KILL='sh $dir/stop.sh KILL'
MUSTER_TEST_ETCD_START='sh $dir/start.sh'
MUSTER_TEST_ETCD_FREEZE='kill -STOP \$(cat $dir/pid)'
MUSTER_TEST_ETCD_THAW='kill -CONT \$(cat $dir/pid)'
MUSTER_TEST_ETCD_WIPE='sh $dir/stop.sh KILL; rm -rf $dir/data; sh $dir/start.sh'
ENV
        echo "== etcd on 127.0.0.1:$port (data in $dir/data)"
        exit 0
    fi
    sh "$dir/stop.sh" KILL || true
    rm -rf "$dir/data"
done
echo "etcd-start: could not start etcd; last log:" >&2
tail -20 "$dir/server.log" >&2
exit 1
