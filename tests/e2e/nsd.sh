# NSD (Debian's nsd) serving one zone on a free loopback port, for tests of
# what muster reads from DNS. Source after lib.sh.
#   nsd_start ORIGIN FILE  serves FILE (a zone file for ORIGIN) from $WORK/nsd-N:
#                          sets NSD_PORT and NSD_PID; N counts the servers started
#   nsd_reload FILE        makes the servers of FILE read it again (NSD reloads on
#                          SIGHUP when the file's mtime moved: it is moved on)
command -v nsd >/dev/null || fail "nsd (Debian package nsd) is needed"
NSD_COUNT=0
NSD_BUMP=0
nsd_start() {
    origin=$1 file=$2
    NSD_COUNT=$((NSD_COUNT + 1))
    dir="$WORK/nsd-$NSD_COUNT"
    mkdir -p "$dir"
    NSD_PORT=$(free_port)
    cat >"$dir/nsd.conf" <<NSD
server:
  ip-address: 127.0.0.1@$NSD_PORT
  port: $NSD_PORT
  username: ""
  chroot: ""
  zonesdir: "$dir"
  pidfile: "$dir/nsd.pid"
  database: ""
  xfrdfile: "$dir/xfrd.state"
  zonelistfile: "$dir/zone.list"
  xfrdir: "$dir"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: $origin
  zonefile: "$file"
NSD
    nsd -d -c "$dir/nsd.conf" >"$dir/nsd.log" 2>&1 &
    NSD_PID=$!
    PIDS="$PIDS $NSD_PID"
    end=$(( $(millis) + 10000 ))
    until dig @127.0.0.1 -p "$NSD_PORT" +time=1 +tries=1 "$origin" SOA 2>/dev/null | grep -q "status: NOERROR"; do
        [ "$(millis)" -lt "$end" ] || fail "nsd did not serve $origin on port $NSD_PORT: $(cat "$dir/nsd.log")"
        sleep 0.1
    done
}
nsd_reload() {
    NSD_BUMP=$((NSD_BUMP + 1))  # seconds ahead: a rewrite within the second still moves the mtime
    touch -d "@$(( $(date +%s) + NSD_BUMP ))" "$1"
    for dir in "$WORK"/nsd-*; do
        grep -q "zonefile: \"$1\"" "$dir/nsd.conf" && kill -HUP "$(cat "$dir/nsd.pid")" 2>/dev/null
    done
    return 0
}
# nsd_signal SIGNAL PID: signals the server of PID with all its descendants
# (NSD answers from a grandchild: stopping the parent alone hangs nothing).
nsd_tree() {
    echo "$1"
    for child in $(pgrep -P "$1"); do nsd_tree "$child"; done
}
nsd_signal() {
    kill -"$1" $(nsd_tree "$2") 2>/dev/null
    return 0
}
