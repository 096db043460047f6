#!/bin/sh
# muster-host run under a Type=notify unit: READY=1 (with a status) only
# once its services are registered, STOPPING=1 on SIGTERM (through the
# drain grace), as systemd would read them from NOTIFY_SOCKET.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is needed to listen as systemd would"
DB="--backend-option catalog-sqlite.path=$WORK/shared.db"
# A datagram socket standing in for systemd's: each message on one line.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".bound", "w").close()
while True:
    print(s.recv(4096).decode().replace("\n", " | "), flush=True)
' "$WORK/notify.sock" >"$WORK/notify.log" 2>&1 &
PIDS="$PIDS $!"
i=0; while [ ! -f "$WORK/notify.sock.bound" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

NOTIFY_SOCKET="$WORK/notify.sock" start svc run --role querier --address 127.0.0.1:5001 --drain-grace 1s $DB
wait_for notify.log "READY=1" 10 || fail "no READY=1 from run"
grep -q "READY=1 | STATUS=running 1 service(s) on chain catalog-sqlite" notify.log || fail "READY=1 without its status"
"$HOST" list --role querier $DB | grep -q "127.0.0.1:5001" || fail "READY=1 came but the service is not listed"
pass "READY=1 once the service is registered"

kill -TERM "$PID_svc"
wait_for notify.log "STOPPING=1 | STATUS=draining for 1000 ms" 5 || fail "no STOPPING=1 while draining"
wait "$PID_svc" || fail "run did not exit 0 on SIGTERM"
grep -q "STOPPING=1 | STATUS=deregistering" notify.log || fail "no STOPPING=1 when deregistering"
pass "STOPPING=1 on SIGTERM, through the drain grace"

# Not under systemd (no NOTIFY_SOCKET): nothing to tell, nothing logged.
start plain run --role querier --address 127.0.0.1:5002 $DB
wait_for plain.log "running 1 service" 10 || fail "run without NOTIFY_SOCKET did not start"
grep -q "notify" plain.log && fail "run without NOTIFY_SOCKET logged about notifying"
pass "without NOTIFY_SOCKET, run says nothing about it"
