# Helpers for the scripts that start throwaway servers (nats-start.sh,
# etcd-start.sh); sourced, not run.

# write_stop_script DIR: writes DIR/stop.sh, which signals the server whose
# pid is in DIR/pid (TERM, or the signal given as its argument; a frozen
# server is thawed first, so that it can die) and waits up to 5 s for it
# to exit.
write_stop_script() {
    cat >"$1/stop.sh" <<STOP
#!/bin/sh
[ -f "$1/pid" ] || exit 0
kill -CONT "\$(cat "$1/pid")" 2>/dev/null
kill -\${1:-TERM} "\$(cat "$1/pid")" 2>/dev/null
for i in \$(seq 1 100); do kill -0 "\$(cat "$1/pid")" 2>/dev/null || exit 0; sleep 0.05; done
STOP
}
