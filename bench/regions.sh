#!/bin/sh
# regions.sh [BUILD] [RUNS]: how soon the local-first answer moves when a
# role's last local instance stops, and comes back when one returns
# (docs/regions.md). Two regions on catalog-sqlite files: eu (the agent's,
# with one router that starts and stops RUNS times, default 20) and us (one
# router, always up). Failover: from SIGTERM to the local router to the
# agent's first answer from us (GET /v1/roles/router, asked every 5 ms).
# Failback: from the local router's "registered" line to the first answer
# from eu. Prints the median, p99 and most of each, in ms. The figures go
# to bench/README.md, "Regions".
set -eu
cd "$(dirname "$0")/.."
host="$(cd "${1:-build}" && pwd)/bin/muster-host"
runs=${2:-20}
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for r in eu us; do
    cat >"$work/$r.toml" <<TOML
[discovery]
region = "$r"
heartbeat_interval = "1s"
[log]
level = "warn"
[region.eu]
chain = "catalog-sqlite"
[region.eu.backend.catalog-sqlite]
path = "$work/eu.db"
[region.us]
chain = "catalog-sqlite"
[region.us.backend.catalog-sqlite]
path = "$work/us.db"
TOML
done
http=$(sh scripts/free-port.sh)
"$host" run --config "$work/eu.toml" --http "$http" & echo $! >"$work/agent.pid"
"$host" run --config "$work/us.toml" --role router --address 10.2.0.1:80 & echo $! >"$work/us.pid"
python3 - "$host" "$work/eu.toml" "$http" "$runs" <<'PY'
import http.client, json, signal, subprocess, sys, time
host, config, port, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def region():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/v1/roles/router")
        return json.loads(c.getresponse().read()).get("region")
    except OSError:
        return None
def until(want, limit=10.0):
    t0 = time.monotonic()
    while region() != want:
        if time.monotonic() - t0 > limit: raise SystemExit("no answer from %s within %.0f s" % (want, limit))
        time.sleep(0.005)
    return time.monotonic()
until("us", 30)
failover, failback = [], []
for i in range(runs):
    p = subprocess.Popen([host, "run", "--config", config, "--log-level", "info", "--role", "router",
                          "--address", "10.1.0.1:80"], stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "registered router" in line: break
    t = time.monotonic()
    failback.append((until("eu") - t) * 1000)
    t = time.monotonic()
    p.send_signal(signal.SIGTERM)
    failover.append((until("us") - t) * 1000)
    p.wait()
    print("run %d/%d: failover %.0f ms, failback %.0f ms" % (i + 1, runs, failover[-1], failback[-1]), flush=True)
def summary(name, xs):
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
    print("%s: median %.0f ms, p99 %.0f ms, most %.0f ms over %d runs" % (name, xs[len(xs) // 2], p99, xs[-1], len(xs)))
summary("failover (local router stopped -> us answers)", failover)
summary("failback (local router registered -> eu answers)", failback)
PY
