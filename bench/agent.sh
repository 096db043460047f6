#!/bin/sh
# agent.sh [BUILD] [SECONDS]: the agent's figures on catalog-sqlite with a
# role of 10 instances: DNS queries per second and latency (dnsperf), HTTP
# requests per second and latency (wrk, GET /v1/roles/router), and the time
# from a registration in another process to a blocking query's answer
# (median of 10), also on nats-kv when MUSTER_TEST_NATS_URL names a server.
# Needs dnsperf and wrk (Debian packages), and nsd for the DNS reference
# (optional: without it the reference is left out). The figures go to
# bench/README.md, "Agent".
set -eu
cd "$(dirname "$0")/.."
host="$(cd "${1:-build}" && pwd)/bin/muster-host"
seconds=${2:-10}
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
db="--backend-option catalog-sqlite.path=$work/m.db --log-level warn"
http=$(sh scripts/free-port.sh)
dns=$(sh scripts/free-port.sh)
"$host" run --http "$http" --dns "$dns" $db & echo $! > "$work/agent.pid"
for i in $(seq 1 10); do "$host" run --role router --address "10.0.0.$i:80" $db & echo $! > "$work/r$i.pid"; done
until [ "$(dig @127.0.0.1 -p "$dns" +short router.service.muster A 2>/dev/null | wc -l)" -eq 10 ]; do sleep 0.2; done

# DNS: the server on core 0 (every thread), dnsperf on core 1, 20 queries
# in flight; NSD serving the same ten records from a zone file, the same
# way, as the reference (when installed: Debian's nsd).
echo "router.service.muster A" > "$work/queries"
dnsperf_on() {
    taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$seconds" -q 20 -c 2 -T 1 2>&1 |
        grep -E "Queries per second|Average Latency|Queries lost"
}
echo "DNS: muster's agent, router.service.muster A (10 records), ${seconds}s, 20 in flight, agent on core 0"
taskset -a -p -c 0 "$(cat "$work/agent.pid")" >/dev/null
dnsperf_on "$dns"
taskset -a -p -c 0,1 "$(cat "$work/agent.pid")" >/dev/null
if command -v nsd >/dev/null; then
    nsdport=$(sh scripts/free-port.sh)
    {
        printf '$ORIGIN muster.\n$TTL 5\n@ IN SOA ns.muster. hostmaster.muster. 1 3600 600 86400 5\n@ IN NS ns.muster.\n'
        printf 'ns IN A 127.0.0.1\n'
        for i in $(seq 1 10); do printf 'router.service IN A 10.0.0.%s\n' "$i"; done
    } >"$work/muster.zone"
    cat >"$work/nsd.conf" <<NSD
server:
  ip-address: 127.0.0.1@$nsdport
  port: $nsdport
  username: ""
  chroot: ""
  zonesdir: "$work"
  pidfile: "$work/nsd.pidfile"
  database: ""
  xfrdfile: "$work/xfrd.state"
  zonelistfile: "$work/zone.list"
  xfrdir: "$work"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0          # response rate limiting would throttle the one benchmarking client
remote-control:
  control-enable: no
zone:
  name: muster
  zonefile: "$work/muster.zone"
NSD
    taskset -c 0 nsd -d -c "$work/nsd.conf" 2>/dev/null & echo $! >"$work/nsd.pid"
    until [ "$(dig @127.0.0.1 -p "$nsdport" +short router.service.muster A 2>/dev/null | wc -l)" -eq 10 ]; do sleep 0.2; done
    echo "DNS: NSD $(nsd -v 2>&1 | head -1 | awk '{print $3}'), the same records from a zone file, the same way"
    dnsperf_on "$nsdport"
fi
echo "HTTP: wrk, GET /v1/roles/router (10 instances as JSON), ${seconds}s, 2 threads, 20 connections"
wrk -t 2 -c 20 -d "${seconds}s" --latency "http://127.0.0.1:$http/v1/roles/router" 2>&1 |
    grep -E "Requests/sec|Latency |50%|99%"

# blocking STORE AGENT_PORT OPTIONS...: a registration in another process
# (on OPTIONS) -> the answer to a blocking query waiting on the agent at
# AGENT_PORT, from the write the answer shows (the instance's last_seen) to
# the answer's arrival (bench/blocking_probe.py: no process start in the figure); the
# median, least and most of 10 runs, in ms.
blocking() {
    store=$1 port=$2
    shift 2
    echo "Blocking query on $store: a registration in another process -> the answer (ms, 10 runs)"
    for i in $(seq 1 10); do
        python3 "$(dirname "$0")/blocking_probe.py" "$port" late "10.0.9.$i:80" >"$work/probe$i" &
        probe=$!
        sleep 0.3
        "$host" run --role late --address "10.0.9.$i:80" "$@" >"$work/late$i.log" 2>&1 & echo $! >"$work/late$i.pid"
        wait $probe
        cat "$work/probe$i"
        kill "$(cat "$work/late$i.pid")"; wait "$(cat "$work/late$i.pid")" 2>/dev/null || true
        rm "$work/late$i.pid"
    done | sort -n | awk '{v[NR] = $1} END {printf "  median %.1f ms, min %.1f ms, max %.1f ms\n", v[int((NR + 1) / 2)], v[1], v[NR]}'
}
blocking catalog-sqlite "$http" --backend-option catalog-sqlite.path="$work/m.db"
# ... and on nats-kv, whose watch is pushed, when a server is given
# (scripts/nats-start.sh writes MUSTER_TEST_NATS_URL).
if [ -n "${MUSTER_TEST_NATS_URL:-}" ]; then
    nats="--chain nats-kv --backend-option nats-kv.url=$MUSTER_TEST_NATS_URL --backend-option nats-kv.bucket=bench_$$"
    nhttp=$(sh scripts/free-port.sh)
    # shellcheck disable=SC2086
    "$host" run --http "$nhttp" --log-level warn $nats & echo $! >"$work/nagent.pid"
    until curl -s -o /dev/null "http://127.0.0.1:$nhttp/v1/roles/late"; do sleep 0.1; done
    # shellcheck disable=SC2086
    blocking nats-kv "$nhttp" $nats
fi
