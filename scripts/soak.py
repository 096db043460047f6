#!/usr/bin/env python3
"""The fault soak's driver (scripts/soak.sh starts the servers and runs it).

Several muster-host processes register one instance each on a chain over
nats-kv, catalog-postgres and catalog-sqlite, and heartbeat it; a watcher
(`muster-host watch --json`) follows the role. Each cycle draws one fault,
holds it a few seconds, ends it, waits for expiries and repairs to settle,
and then checks a fresh client's list. Everything is checked against a
ledger of what was registered and what was stopped:

  lost            a live instance missing from the watch for longer than
                  the ttl, or from a fresh list after the cycle settled
  resurrected     a stopped instance added again after it was removed, or
                  listed by a fresh list long after its stop
  false removals  a removal event for an instance that is live
  crashes         a process that exited without being told to, or that
                  did not exit 0 on SIGTERM
  leaks           RSS or open descriptors of the long-lived processes
                  growing from the warm-up to the end

Exit 0 when all are zero, 1 when one is not, 2 on a usage error.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

TTL = 3.0
HEARTBEAT = 0.5
# A fresh list long after a stop: the ttl, a sweep and a heartbeat's slack.
STALE_AFTER = 2 * TTL + 2
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
ROLE = "soak"


def now():
    return time.monotonic()


class Ledger:
    """What was registered and stopped, and every violation seen."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live = {}  # id -> the time it was started
        self.stopped = {}  # id -> the time it was stopped (SIGTERM or kill -9)
        self.first_seen = {}  # id -> when the watch first listed it
        self.removed = set()  # stopped ids the watch has removed
        self.violations = {"lost": [], "resurrected": [], "false_removals": [], "crashes": [], "leaks": []}

    def note(self, kind, text):
        with self.lock:
            self.violations[kind].append(text)
        print(f"  !! {kind}: {text}", file=sys.stderr, flush=True)


class Watcher:
    """`muster-host watch --json --role soak`: the listed set, checked per event."""

    def __init__(self, host, config, ledger, workdir):
        self.ledger = ledger
        self.listed = {}
        self.lock = threading.Lock()
        self.log = open(os.path.join(workdir, "watch.log"), "w")
        self.proc = subprocess.Popen([host, "watch", "--json", "--role", ROLE, "--config", config],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            event = json.loads(line)
            iid = event["instance"]["id"]
            kind = event["event"]
            with self.lock:
                if kind == "removed":
                    self.listed.pop(iid, None)
                else:
                    self.listed[iid] = now()
            led = self.ledger
            with led.lock:
                live, stopped = iid in led.live, iid in led.stopped
                if kind == "added" and live:
                    led.first_seen.setdefault(iid, now())
                resurrected = kind == "added" and stopped and iid in led.removed
                if kind == "removed" and stopped:
                    led.removed.add(iid)
            if kind == "removed" and live:
                led.note("false_removals", f"{iid} removed while its process runs")
            if resurrected:
                led.note("resurrected", f"{iid} added again after its stop and removal")

    def ids(self):
        with self.lock:
            return set(self.listed)


class Registrant:
    """One `muster-host run` with one instance; its wall clock can be stepped."""

    def __init__(self, host, config, workdir, port, steady):
        self.id = str(uuid.uuid4())
        self.steady = steady  # never given a process fault: its memory is followed
        self.clock = os.path.join(workdir, f"clock-{self.id}")
        with open(self.clock, "w") as f:
            f.write("+0\n")
        env = dict(os.environ, LD_PRELOAD=LIBFAKETIME, FAKETIME_TIMESTAMP_FILE=self.clock,
                   FAKETIME_DONT_FAKE_MONOTONIC="1", FAKETIME_CACHE_DURATION="1")
        self.log = open(os.path.join(workdir, f"run-{self.id}.log"), "w")
        self.proc = subprocess.Popen([host, "run", "--config", config, "--role", ROLE, "--address",
                                      f"127.0.0.1:{port}", "--id", self.id], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.told_to_stop = False

    def step_clock(self, offset):
        with open(self.clock, "w") as f:
            f.write(offset + "\n")


def resources(pid):
    """(RSS in kB, open descriptors) of a process."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.ledger = Ledger()
        self.config = os.path.join(args.workdir, "soak.toml")
        self.sqlite = os.path.join(args.workdir, "soak.db")
        self.schema = f"soak_{os.getpid()}"
        with open(self.config, "w") as f:
            f.write(f"""[discovery]
chain = "nats-kv, catalog-postgres, catalog-sqlite"
heartbeat_interval = "{int(HEARTBEAT * 1000)}ms"
ttl = "{int(TTL)}s"

[backend.nats-kv]
url = "{os.environ['MUSTER_TEST_NATS_URL']}"
bucket = "{self.schema}"

[backend.catalog-postgres]
url = "{os.environ['MUSTER_TEST_PG_URL']}"
schema = "{self.schema}"

[backend.catalog-sqlite]
path = "{self.sqlite}"
""")
        self.next_port = 40000
        self.registrants = []
        self.watcher = Watcher(args.host, self.config, self.ledger, args.workdir)
        self.samples = {}  # name -> [(cycle, rss, fds)]

    # --- processes ------------------------------------------------------

    def start_registrant(self, steady=False):
        self.next_port += 1
        r = Registrant(self.args.host, self.config, self.args.workdir, self.next_port, steady)
        with self.ledger.lock:
            self.ledger.live[r.id] = now()
        self.registrants.append(r)
        return r

    def stop_registrant(self, r, sig):
        r.told_to_stop = True
        with self.ledger.lock:
            self.ledger.live.pop(r.id, None)
            self.ledger.stopped[r.id] = now()
        r.proc.send_signal(sig)
        code = r.proc.wait(timeout=30)
        if sig == signal.SIGTERM and code != 0:
            self.ledger.note("crashes", f"{r.id} exited {code} on SIGTERM")
        self.registrants.remove(r)

    def check_processes(self):
        for r in list(self.registrants):
            code = r.proc.poll()
            if code is not None and not r.told_to_stop:
                self.ledger.note("crashes", f"{r.id} exited {code} unasked (log: {r.log.name})")
                with self.ledger.lock:
                    self.ledger.live.pop(r.id, None)
                    self.ledger.stopped[r.id] = now()
                self.registrants.remove(r)
                self.start_registrant()
        if self.watcher.proc.poll() is not None:
            self.ledger.note("crashes", f"the watcher exited {self.watcher.proc.returncode}")
            raise SystemExit(1)

    # --- faults: each returns its description and how to end it ----------

    def run_env(self, name):
        subprocess.run(os.environ[name], shell=True, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def psql(self, sql):
        subprocess.run(["psql", "-q", os.environ["MUSTER_TEST_PG_URL"], "-c", sql], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def fault_kill_store(self):
        store = self.rng.choice(["NATS", "PG"])
        self.run_env(f"MUSTER_TEST_{store}_KILL")
        return f"kill -9 {store.lower()}", lambda: self.run_env(f"MUSTER_TEST_{store}_START")

    def fault_freeze_store(self):
        store = self.rng.choice(["NATS", "PG"])
        self.run_env(f"MUSTER_TEST_{store}_FREEZE")
        return f"SIGSTOP {store.lower()}", lambda: self.run_env(f"MUSTER_TEST_{store}_THAW")

    def fault_wipe_store(self):
        store = self.rng.choice(["nats", "postgres", "sqlite"])
        if store == "nats":
            self.run_env("MUSTER_TEST_NATS_WIPE")
        elif store == "postgres":
            self.psql(f"DROP SCHEMA {self.schema} CASCADE")
        else:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.sqlite + suffix):
                    os.remove(self.sqlite + suffix)
        return f"wipe {store}", lambda: None

    def fault_stop_process(self, sig):
        candidates = [r for r in self.registrants if not r.steady]
        r = self.rng.choice(candidates)
        self.stop_registrant(r, sig)
        name = "kill -9" if sig == signal.SIGKILL else "SIGTERM"
        return f"{name} of a registrant", lambda: self.start_registrant()

    def fault_clock_step(self):
        r = self.rng.choice(self.registrants)
        offset = self.rng.choice(["+", "-"]) + str(self.rng.randint(10, 600)) + "s"
        r.step_clock(offset)
        return f"clock step {offset} of a registrant", lambda: r.step_clock("+0")

    def draw_fault(self):
        """One fault at random: (its kind, what was done, how to end it)."""
        faults = [("store killed", self.fault_kill_store), ("store frozen", self.fault_freeze_store),
                  ("store wiped", self.fault_wipe_store),
                  ("process killed", lambda: self.fault_stop_process(signal.SIGKILL)),
                  ("process stopped", lambda: self.fault_stop_process(signal.SIGTERM)),
                  ("clock stepped", self.fault_clock_step)]
        kind, fault = self.rng.choice(faults)
        return (kind, *fault())

    # --- checks ---------------------------------------------------------

    def monitor(self, until):
        """Every 250 ms until `until`: live instances missing from the watch."""
        missing_since = {}
        reported = set()
        while now() < until:
            listed = self.watcher.ids()
            with self.ledger.lock:
                seen = {i for i in self.ledger.live if i in self.ledger.first_seen}
            for i in seen:
                if i in listed:
                    missing_since.pop(i, None)
                    continue
                since = missing_since.setdefault(i, now())
                if now() - since > TTL and i not in reported:
                    reported.add(i)
                    self.ledger.note("lost", f"{i} missing from the watch for over {TTL:.0f} s")
            self.check_processes()
            time.sleep(0.25)

    def fresh_list(self):
        out = subprocess.run([self.args.host, "list", "--json", "--role", ROLE, "--config", self.config],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            self.ledger.note("lost", f"a fresh list failed ({out.returncode}): {out.stderr.strip()}")
            return None
        return {i["id"] for i in json.loads(out.stdout)}

    def check_settled(self):
        ids = self.fresh_list()
        if ids is None:
            return
        t = now()
        with self.ledger.lock:
            live = [i for i, started in self.ledger.live.items() if t - started > 2 * TTL]
            stale = [i for i, stopped in self.ledger.stopped.items() if t - stopped > STALE_AFTER]
            unseen = [i for i, started in self.ledger.live.items()
                      if i not in self.ledger.first_seen and t - started > 4 * TTL]
        for i in live:
            if i not in ids:
                self.ledger.note("lost", f"{i} (live) missing from a fresh list")
        for i in stale:
            if i in ids:
                self.ledger.note("resurrected", f"{i} listed by a fresh list {STALE_AFTER:.0f} s after its stop")
        for i in unseen:
            self.ledger.note("lost", f"{i} never listed by the watch")
            with self.ledger.lock:
                self.ledger.first_seen[i] = t  # reported once

    def sample(self, cycle):
        procs = {"watcher": self.watcher.proc.pid}
        for n, r in enumerate(r for r in self.registrants if r.steady):
            procs[f"registrant {n + 1}"] = r.proc.pid
        for name, pid in procs.items():
            rss, fds = resources(pid)
            self.samples.setdefault(name, []).append((cycle, rss, fds))

    def check_flat(self):
        """Growth from the warm-up (a tenth of the run) to the end."""
        summary = {}
        for name, rows in self.samples.items():
            warm = rows[min(len(rows) - 1, max(1, len(rows) // 10))]
            end = rows[-1]
            drss, dfds = end[1] - warm[1], end[2] - warm[2]
            summary[name] = {"rss_kb_warm": warm[1], "rss_kb_end": end[1], "fds_warm": warm[2], "fds_end": end[2]}
            if drss > max(4096, warm[1] // 10):
                self.ledger.note("leaks", f"{name}: RSS {warm[1]} kB after warm-up, {end[1]} kB at the end")
            if dfds > 4:
                self.ledger.note("leaks", f"{name}: {warm[2]} descriptors after warm-up, {end[2]} at the end")
        return summary

    # --- the run --------------------------------------------------------

    def run(self):
        args = self.args
        for n in range(args.processes):
            self.start_registrant(steady=n < 2)
        self.monitor(now() + 4 * TTL)
        self.check_settled()
        faults = {}
        started = now()
        for cycle in range(1, args.cycles + 1):
            kind, description, end = self.draw_fault()
            faults[kind] = faults.get(kind, 0) + 1
            self.monitor(now() + self.rng.uniform(1.0, 6.0))
            end()
            self.monitor(now() + TTL + 2.0)
            self.check_settled()
            self.sample(cycle)
            counts = " ".join(f"{k}={len(v)}" for k, v in self.ledger.violations.items())
            print(f"cycle {cycle}/{args.cycles} ({now() - started:.0f} s): {description}; {counts}",
                  file=sys.stderr, flush=True)
        flat = self.check_flat()
        for r in list(self.registrants):
            self.stop_registrant(r, signal.SIGTERM)
        self.monitor(now() + TTL)
        self.watcher.proc.send_signal(signal.SIGTERM)
        self.watcher.proc.wait(timeout=30)
        return {
            "cycles": args.cycles,
            "seed": args.seed,
            "seconds": round(now() - started),
            "faults": faults,
            "instances_registered": len(self.ledger.live) + len(self.ledger.stopped),
            "counts": {k: len(v) for k, v in self.ledger.violations.items()},
            "violations": self.ledger.violations,
            "resources": flat,
        }


def main():
    p = argparse.ArgumentParser(description="the fault soak's driver; run it through scripts/soak.sh")
    p.add_argument("--cycles", type=int, default=100)
    p.add_argument("--processes", type=int, default=6, help="registering processes (two are never faulted)")
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--host", required=True, help="the muster-host binary")
    p.add_argument("--workdir", required=True)
    p.add_argument("--json", action="store_true", help="the summary as JSON")
    args = p.parse_args()
    if args.cycles < 1 or args.processes < 3:
        p.error("--cycles must be at least 1 and --processes at least 3")
    for var in ("MUSTER_TEST_NATS_URL", "MUSTER_TEST_PG_URL"):
        if not os.environ.get(var):
            p.error(f"{var} is not set: run this through scripts/soak.sh, which starts the servers")
    soak = Soak(args)
    try:
        result = soak.run()
    finally:
        for r in soak.registrants:
            r.proc.kill()
        soak.watcher.proc.kill()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['cycles']} cycles in {result['seconds']} s (seed {result['seed']}), "
              f"{result['instances_registered']} instances registered")
        print("faults: " + ", ".join(f"{k} {v}" for k, v in sorted(result["faults"].items())))
        print("violations: " + ", ".join(f"{k} {v}" for k, v in result["counts"].items()))
        for name, r in result["resources"].items():
            print(f"{name}: RSS {r['rss_kb_warm']} -> {r['rss_kb_end']} kB, descriptors {r['fds_warm']} -> {r['fds_end']}")
    return 0 if not any(result["counts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
