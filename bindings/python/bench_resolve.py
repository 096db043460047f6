"""resolve() of a role with 10 instances through the Python binding, one
thread, memory backend: median ns per call (bench/embedding.sh)."""
import time

import muster

client = muster.Client({"chain": "memory", "log-level": "warn"})
regs = [client.register("router", f"10.0.0.1:{7000 + i}") for i in range(10)]
per_call = []
for _ in range(50):
    t0 = time.perf_counter_ns()
    for _ in range(200):
        client.resolve("router")
    per_call.append((time.perf_counter_ns() - t0) / 200)
per_call.sort()
print(f"python {per_call[len(per_call) // 2]:.0f}")
for r in regs:
    r.deregister()
client.close()
