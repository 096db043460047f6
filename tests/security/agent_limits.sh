#!/bin/sh
# docs/security.md, items 3, 4, 6 and 9, against a real muster-host run as
# an agent with a 1,024-descriptor limit:
# - 10,000 made-up role names over DNS and 10,000 over /v1/watch leave a
#   newly registered role answerable within 1 s, RSS growth under 20 MB,
#   and known roles answered meanwhile (p99 printed);
# - 450 blocking queries held on made-up roles cost no CPU while they
#   wait, and a registration still wakes a blocking query on its role;
# - 5,000 idle connections from 100 client addresses leave a free
#   descriptor, no spinning core, /healthz answering and the agent's own
#   check passing;
# - three slow writes do not delay /healthz;
# - SIGTERM deregisters what was registered through the API.
. "$(dirname "$0")/../e2e/lib.sh"
command -v curl >/dev/null && command -v dig >/dev/null || fail "curl and dig are needed"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
DB="--backend-option catalog-sqlite.path=$WORK/m.db --heartbeat-interval 500ms"
TOKEN=0123456789abcdef-token
cat >"$WORK/agent.toml" <<EOF
[check.slow]
plugin = "health-exec"
command = "sleep 1.5"
interval = "10s"
timeout = "3s"
EOF
HPORT=$(free_port)
DPORT=$(free_port)
A="http://127.0.0.1:$HPORT"
(ulimit -S -n 1024 && exec "$HOST" run --config "$WORK/agent.toml" --http "$HPORT" --dns "$DPORT" --http-token "$TOKEN" \
    --role agent --address "127.0.0.1:$HPORT" --check health-tcp --check-interval 1s --check-timeout 500ms \
    $DB) >"$WORK/agent.log" 2>&1 &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_for agent.log "running 1 service" 15 || fail "the agent did not start"
start known run --role known --address 10.0.0.1:80 $DB
wait_for known.log "running 1 service" 10 || fail "the known role did not register"
dig +short +time=2 +tries=1 -p "$DPORT" @127.0.0.1 known.service.muster A | grep -q 10.0.0.1 ||
    fail "the known role is not answered over DNS"
RSS0=$(rss_kb $AGENT)

# 3. Made-up names over DNS and /v1/watch, while a known role is asked.
python3 - "$DPORT" "$HPORT" >"$WORK/flood.txt" <<'EOF' || fail "the flood failed: $(cat "$WORK/flood.txt")"
import socket, struct, sys, threading, time, random
dport, hport = int(sys.argv[1]), int(sys.argv[2])

def query(name, qid):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\x00" + struct.pack(">HH", 1, 1)

def flood_dns():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(10000):
        s.sendto(query("made-up-%d.service.muster" % i, i & 0xffff), ("127.0.0.1", dport))
        if i % 200 == 0:
            time.sleep(0.01)

def flood_watch(start, count):
    for i in range(start, start + count):
        c = socket.create_connection(("127.0.0.1", hport))
        c.sendall(b"GET /v1/watch?role=invented-%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % i)
        c.settimeout(5)
        try:
            c.recv(256)
        except OSError:
            pass
        c.close()

latencies = []
stop = False
def probe():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    n = 0
    while not stop:
        n += 1
        t = time.monotonic()
        s.sendto(query("known.service.muster", n & 0xffff), ("127.0.0.1", dport))
        try:
            while True:
                data, _ = s.recvfrom(4096)
                if struct.unpack(">H", data[:2])[0] == n & 0xffff:
                    break
            latencies.append(time.monotonic() - t)
        except socket.timeout:
            latencies.append(2.0)
        time.sleep(0.005)

p = threading.Thread(target=probe)
p.start()
workers = [threading.Thread(target=flood_dns)] + [threading.Thread(target=flood_watch, args=(k * 1250, 1250)) for k in range(8)]
t0 = time.monotonic()
for w in workers: w.start()
for w in workers: w.join()
stop = True
p.join()
latencies.sort()
p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
print("flood took %.1f s; known-role DNS answers: %d, p50 %.2f ms, p99 %.2f ms"
      % (time.monotonic() - t0, len(latencies), latencies[len(latencies) // 2] * 1000, p99))
# Generous: 5 ms is the aim on a quiet machine (docs/security.md); the
# test only catches a stall behind backend reads.
sys.exit(0 if p99 < 500 else 1)
EOF
pass "$(cat "$WORK/flood.txt")"
start fresh run --role fresh-role --address 10.0.0.2:80 $DB
wait_for fresh.log "running 1 service" 10 || fail "the fresh role did not register"
T0=$(millis)
ok=""
while [ $(( $(millis) - T0 )) -lt 1000 ]; do
    dig +short +time=1 +tries=1 -p "$DPORT" @127.0.0.1 fresh-role.service.muster A | grep -q 10.0.0.2 && { ok=1; break; }
done
[ -n "$ok" ] || fail "a newly registered role was not answered within 1 s after the flood"
RSS1=$(rss_kb $AGENT)
# Under AddressSanitizer freed memory stays in its quarantine: the bound is
# the release build's.
[ -n "${ASAN_OPTIONS:-}" ] || [ $((RSS1 - RSS0)) -lt 20480 ] || fail "RSS grew by $((RSS1 - RSS0)) kB over the flood"
pass "a new role answered within 1 s after 20,000 made-up names; RSS grew $((RSS1 - RSS0)) kB"

# 3b. 450 blocking queries held open on 450 made-up roles (from 10
# addresses, under the per-client limit): they cost no CPU while they
# wait, /healthz answers, and a registration still wakes a blocking query
# on its role at once.
python3 - "$HPORT" "$AGENT" >"$WORK/blocking.txt" <<'EOF' || fail "blocking queries: $(cat "$WORK/blocking.txt")"
import os, socket, sys, time, urllib.request
port, agent = int(sys.argv[1]), int(sys.argv[2])
held = []
for i in range(450):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (110 + i % 10), 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /v1/roles/blocked-%d?index=9223372036854775807&wait=60s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % i)
    held.append(s)
    if i % 25 == 24:
        time.sleep(0.1)  # each new role is read once first: a burst past the read queue is told 503, busy
time.sleep(1.5)
ticks = lambda: sum(int(x) for x in open("/proc/%d/stat" % agent).read().rsplit(")", 1)[1].split()[11:13])
c0 = ticks()
time.sleep(2)
spent = (ticks() - c0) / os.sysconf("SC_CLK_TCK")
t = time.monotonic()
health = urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5).read().strip()
took = (time.monotonic() - t) * 1000
# None answered: each still waits for its role to change.
# Each still waits for its role to change, or was told 503 (busy, Retry-After).
waiting, busy, other = 0, 0, b""
for s in held:
    s.setblocking(False)
    try:
        got = s.recv(256)
        if got.startswith(b"HTTP/1.1 503") and b"Retry-After" in got:
            busy += 1
        else:
            other = other or got or b"(closed)"
    except BlockingIOError:
        waiting += 1
if other: print(other.decode(errors="replace").replace("\r\n", " / "), end="; ")
print("%d of 450 blocking queries waiting (%d told busy): %.2f s of CPU in 2 s, /healthz %s in %.1f ms"
      % (waiting, busy, spent, health.decode(), took))
for s in held: s.close()
sys.exit(0 if not other and waiting >= 400 and spent < 0.5 and health == b"ok" and took < 1000 else 1)
EOF
pass "$(cat "$WORK/blocking.txt")"
INDEX=$(curl -s -D - -o /dev/null "$A/v1/roles/woken-role" | awk -F': ' 'tolower($1) == "x-muster-index" {print $2}' | tr -d '\r')
[ -n "$INDEX" ] || fail "no X-Muster-Index for a new role"
curl -s -o "$WORK/woken.json" "$A/v1/roles/woken-role?index=$INDEX&wait=20s" &
WAITER=$!
sleep 0.5
T0=$(millis)
start woken run --role woken-role --address 10.0.0.3:80 $DB
wait $WAITER
took=$(( $(millis) - T0 ))
grep -q 10.0.0.3 "$WORK/woken.json" || fail "the blocking query on a new role ended without its registration: $(cat "$WORK/woken.json")"
[ "$took" -lt 5000 ] || fail "a registration took $took ms to wake its blocking query"
pass "after the blocking queries, a registration woke a blocking query on its role in $took ms"

# 4. 5,000 idle connections.
python3 - "$HPORT" "$AGENT" >"$WORK/idle.txt" <<'EOF' || fail "idle connections: $(cat "$WORK/idle.txt")"
import os, resource, socket, sys, time, urllib.request
port, agent = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, max(8192, resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
socks = []
for i in range(5000):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i % 100), 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(1.5)
ticks = lambda: sum(int(x) for x in open("/proc/%d/stat" % agent).read().rsplit(")", 1)[1].split()[11:13])
c0 = ticks()
t = time.monotonic()
body = urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5).read()
took = (time.monotonic() - t) * 1000
time.sleep(2)
spent = (ticks() - c0) / os.sysconf("SC_CLK_TCK")
fds = len(os.listdir("/proc/%d/fd" % agent))
print("5000 idle connections: /healthz %s in %.1f ms, %d descriptors open, %.2f s of CPU in 2 s" % (body.strip().decode(), took, fds, spent))
ok = body.strip() == b"ok" and fds < 1000 and spent < 1.0 and took < 1000
for s in socks: s.close()
sys.exit(0 if ok else 1)
EOF
pass "$(cat "$WORK/idle.txt")"
curl -s "$A/v1/roles/agent" | grep -q '"health": "passing"' || fail "the agent's own check is not passing: $(curl -s "$A/v1/roles/agent")"
grep -q "Too many open files" "$WORK/agent.log" && fail "the agent ran out of descriptors"
pass "the agent's own check still passes; no descriptor ran out"

# 6. Slow writes (a check that takes 1.5 s) do not hold up /healthz.
WRITERS=""
for i in 1 2 3; do
    curl -s -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" \
        -d "{\"role\":\"slow\",\"address\":\"10.0.3.$i:80\",\"checks\":[\"slow\"]}" "$A/v1/instances" &
    WRITERS="$WRITERS $!"
done
sleep 0.3
took=$(curl -s -o /dev/null -w '%{time_total}' "$A/healthz")
awk -v t="$took" 'BEGIN {exit !(t < 0.5)}' || fail "/healthz took $took s behind three slow writes"
wait $WRITERS
pass "/healthz answered in $took s behind three slow writes"

# 9. SIGTERM deregisters what was registered through the API, at once.
ID=$(curl -s -X PUT -H "Authorization: Bearer $TOKEN" -d '{"role":"api-made","address":"10.0.4.1:80"}' "$A/v1/instances" |
    grep '"id"' | cut -d'"' -f4)
[ -n "$ID" ] || fail "no id for an API registration"
kill -TERM $AGENT
wait $AGENT 2>/dev/null
"$HOST" list --role api-made $DB --json | grep -q "$ID" && fail "an API registration outlived the agent's SIGTERM"
pass "SIGTERM deregistered the API's registrations"
