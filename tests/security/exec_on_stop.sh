#!/bin/sh
# docs/security.md, item 9: a muster-host that stops while a health-exec
# check is running leaves no command behind (nor a child it started).
. "$(dirname "$0")/../e2e/lib.sh"
cat >"$WORK/host.toml" <<TOML
[check.slow]
plugin = "health-exec"
# The first run (at registration) is quick; the next ones take 2 s, and
# leave a child of their own (that left the group) running as long.
command = "if [ -e $WORK/first ]; then setsid sh -c 'sleep 2; touch $WORK/late' & sleep 2; touch $WORK/late2; else touch $WORK/first; fi"
shell = true
interval = "1s"
timeout = "900ms"
TOML
start host run --config "$WORK/host.toml" --role worker --address 127.0.0.1:9 --check slow \
    --backend-option catalog-sqlite.path="$WORK/m.db"
wait_for host.log "running 1 service" 10 || fail "muster-host did not start"
end=$(( $(millis) + 5000 ))
until pgrep -f "sleep 2" >/dev/null; do
    [ "$(millis)" -lt "$end" ] || fail "the check's second run did not start"
    sleep 0.05
done
kill -TERM "$PID_host"
wait "$PID_host" 2>/dev/null
sleep 2.5
[ ! -e "$WORK/late" ] && [ ! -e "$WORK/late2" ] || fail "a health-exec command outlived muster-host"
pass "stopping muster-host ended its running health-exec command and its children"
