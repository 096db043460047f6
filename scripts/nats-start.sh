#!/bin/sh
# nats-start.sh DIR: starts a throwaway nats-server with JetStream in DIR on
# 127.0.0.1 on a free port, and writes DIR/env with MUSTER_TEST_NATS_URL and
# the commands to stop and start it again (same port, same store), to
# freeze and thaw it (SIGSTOP/SIGCONT: a hang, not a death) and to restart
# it with its store wiped.
set -eu
dir=$1
. "$(dirname "$0")/server-lib.sh"
command -v nats-server >/dev/null || { echo "nats-start: nats-server not found: install nats-server" >&2; exit 1; }
mkdir -p "$dir/store"
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$(sh "$(dirname "$0")/free-port.sh")
    cat >"$dir/server.conf" <<CONF
listen: 127.0.0.1:$port
jetstream { store_dir: "$dir/store" }
CONF
    cat >"$dir/start.sh" <<START
#!/bin/sh
before=\$(grep -c "Server is ready" "$dir/server.log" 2>/dev/null || true)
nats-server -c "$dir/server.conf" >>"$dir/server.log" 2>&1 &
echo \$! >"$dir/pid"
for i in \$(seq 1 200); do
    [ "\$(grep -c "Server is ready" "$dir/server.log" || true)" -gt "\${before:-0}" ] && exit 0
    sleep 0.05
done
exit 1
START
    write_stop_script "$dir"
    : >"$dir/server.log"
    if sh "$dir/start.sh"; then
        cat >"$dir/env" <<ENV
MUSTER_TEST_NATS_URL='nats://127.0.0.1:$port'
MUSTER_TEST_NATS_STOP='sh $dir/stop.sh'
MUSTER_TEST_NATS_KILL='sh $dir/stop.sh KILL'
MUSTER_TEST_NATS_START='sh $dir/start.sh'
MUSTER_TEST_NATS_FREEZE='kill -STOP \$(cat $dir/pid)'
MUSTER_TEST_NATS_THAW='kill -CONT \$(cat $dir/pid)'
MUSTER_TEST_NATS_WIPE='sh $dir/stop.sh KILL; rm -rf $dir/store; mkdir -p $dir/store; sh $dir/start.sh'
ENV
        echo "== nats-server (JetStream) on 127.0.0.1:$port (store in $dir/store)"
        exit 0
    fi
    sh "$dir/stop.sh" KILL || true
done
echo "nats-start: could not start nats-server; last log:" >&2
tail -20 "$dir/server.log" >&2
exit 1
