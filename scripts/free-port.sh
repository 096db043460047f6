#!/bin/sh
# free-port.sh [COUNT]: prints a port P such that P .. P+COUNT-1 (default 1)
# are free on 127.0.0.1 for TCP and UDP. Drawn at random below the kernel's
# ephemeral range (ip_local_port_range), from which every outgoing
# connection takes its source port: a port from that range, free when
# drawn, is often taken before the server binds it (or binds it again,
# after a test restarts the server).
exec python3 - "${1:-1}" <<'PY'
import random, socket, sys
count = int(sys.argv[1])
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    ephemeral_low = int(f.read().split()[0])
high = ephemeral_low - count
low = max(1024, high - 12000)
for _ in range(500):
    base = random.randint(low, high)
    try:
        for port in range(base, base + count):
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(base)
    sys.exit(0)
sys.exit(f"free-port: no {count} free port(s) in {low}-{high + count - 1}")
PY
