#!/bin/sh
# pg-start.sh DIR: starts a throwaway PostgreSQL 15 cluster in DIR on
# 127.0.0.1 on a free port, and writes DIR/env with MUSTER_TEST_PG_URL and
# the commands to restart and stop it. As root, the server runs as the
# 'postgres' user (initdb refuses root).
set -eu
dir=$1
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || { echo "pg-start: $bin/initdb not found: install postgresql-15" >&2; exit 1; }
mkdir -p "$dir"
as_owner() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    as_owner() { runuser -u postgres -- "$@"; }
fi
as_owner "$bin/initdb" -D "$dir/data" -U muster --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$(sh "$(dirname "$0")/free-port.sh")
    opts="-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200"
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$opts" start >/dev/null 2>&1; then
        url="postgresql://muster@127.0.0.1:$port/postgres"
        ctl="$( [ "$(id -u)" -eq 0 ] && echo "runuser -u postgres -- " )$bin/pg_ctl -D $dir/data -l $dir/server.log -w -t 30"
        # kill -9 of the postmaster and every backend at once, as a crash
        # would leave it; the next start runs crash recovery.
        cat >"$dir/kill.sh" <<KILL
#!/bin/sh
pid=\$(head -1 "$dir/data/postmaster.pid" 2>/dev/null) || exit 0
pids="\$pid \$(pgrep -P \$pid | tr '\\n' ' ')"
kill -9 \$pids 2>/dev/null
for i in \$(seq 1 100); do
    alive=""
    # a zombie (state Z) is dead already, only not yet reaped
    for p in \$pids; do grep -qv '^[0-9]* ([^)]*) Z' /proc/\$p/stat 2>/dev/null && alive=1; done
    # the server refuses to start while the pid in its lock file exists,
    # and an unreaped zombie does: the lock is stale once all are dead
    [ -z "\$alive" ] && { rm -f "$dir/data/postmaster.pid" "$dir"/.s.PGSQL.*.lock; exit 0; }
    sleep 0.05
done
KILL
        # SIGSTOP/SIGCONT of the postmaster and every backend: a server that
        # stops answering without closing a connection (a partition).
        cat >"$dir/signal.sh" <<SIGNAL
#!/bin/sh
pid=\$(head -1 "$dir/data/postmaster.pid" 2>/dev/null) || exit 1
kill -\$1 \$pid \$(pgrep -P \$pid | tr '\\n' ' ')
SIGNAL
        cat >"$dir/env" <<ENV
MUSTER_TEST_PG_URL='$url'
MUSTER_TEST_PG_RESTART='$ctl -m fast restart'
MUSTER_TEST_PG_STOP='$ctl -m fast stop'
MUSTER_TEST_PG_KILL='sh $dir/kill.sh'
MUSTER_TEST_PG_START='$ctl -o "$opts" start'
MUSTER_TEST_PG_FREEZE='sh $dir/signal.sh STOP'
MUSTER_TEST_PG_THAW='sh $dir/signal.sh CONT'
ENV
        echo "== PostgreSQL on 127.0.0.1:$port (data in $dir)"
        exit 0
    fi
done
echo "pg-start: could not start PostgreSQL; last log:" >&2
tail -20 "$dir/server.log" >&2
exit 1
