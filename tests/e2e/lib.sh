# Helpers for the end-to-end tests: each test runs the real muster-host in
# separate processes in a temporary directory, which is removed (and every
# process it started is killed) when the test exits, pass or fail.
set -u
HOST=${MUSTER_HOST:?MUSTER_HOST must name the muster-host binary}
MUSTER_SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1

fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
pass() { echo "ok: $*"; }

# start NAME ARGS...: runs muster-host ARGS in the background, output in NAME.log.
start() {
    name=$1; shift
    "$HOST" "$@" >"$WORK/$name.log" 2>&1 &
    eval "PID_$name=$!"
    PIDS="$PIDS $!"
}

# wait_for FILE PATTERN SECONDS: true once grep finds PATTERN in FILE.
wait_for() {
    file=$1 pattern=$2 limit=$3
    end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
    while [ "$(( $(date +%s%N) / 1000000 ))" -lt "$end" ]; do
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# free_port [COUNT]: a free loopback port (or the first of COUNT in a row),
# below the ephemeral range (scripts/free-port.sh says why).
free_port() { sh "$MUSTER_SOURCE/scripts/free-port.sh" "$@"; }

# millis: the time now in ms, for measuring how soon something showed.
millis() { echo $(( $(date +%s%N) / 1000000 )); }

# expect CODE MESSAGE-PATTERN ARGS...: muster-host ARGS exits with CODE and
# prints exactly one line on stderr matching MESSAGE-PATTERN.
expect() {
    code=$1 pattern=$2; shift 2
    "$HOST" "$@" >"$WORK/expect.out" 2>"$WORK/expect.err"
    got=$?
    [ "$got" -eq "$code" ] || fail "muster-host $* exited $got, expected $code: $(cat "$WORK/expect.err")"
    [ "$(wc -l <"$WORK/expect.err")" -eq 1 ] || fail "muster-host $* printed not one line: $(cat "$WORK/expect.err")"
    grep -q -- "$pattern" "$WORK/expect.err" || fail "muster-host $*: message '$(cat "$WORK/expect.err")' lacks '$pattern'"
    pass "$* -> exit $code"
}
