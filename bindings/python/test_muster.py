"""The Python binding against catalog-sqlite: two clients (as two services
would be) register, resolve each other's roles and hear each other's
changes. Run: MUSTER_LIBRARY=/prefix/lib/libmuster.so.1 python3 -m unittest
test_muster (the test command does)."""
import ctypes
import gc
import os
import re
import tempfile
import threading
import time
import unittest

import muster


def eventually(predicate, limit=10.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# The C structs the binding mirrors, by their C names.
_MIRRORS = {"muster_kv": muster._KV, "muster_instance": muster._Instance, "muster_error": muster._Error,
            "muster_client_config": muster._Config, "muster_service": muster._Service,
            "muster_snapshot": muster._Snapshot, "muster_picker_options": muster._PickerOptions}


class LayoutTest(unittest.TestCase):
    """The ctypes mirrors against every frozen size and offset of the C
    headers (muster/client_layout.h, muster/layout.h), found in
    MUSTER_INCLUDE_DIRS (':'-separated; by default the source tree's)."""

    def test_the_mirrors_match_the_frozen_layouts(self):
        here = os.path.dirname(os.path.abspath(__file__))
        default = os.pathsep.join(os.path.join(here, "..", "..", d) for d in ("client/include", "sdk/include"))
        rules = []
        for d in (os.environ.get("MUSTER_INCLUDE_DIRS") or default).split(os.pathsep):
            for name in ("client_layout.h", "layout.h"):
                path = os.path.join(d, "muster", name)
                if os.path.exists(path):
                    with open(path) as f:
                        rules += re.findall(r"MUSTER_FROZEN\((sizeof|offsetof)\((\w+)(?:, (\w+))?\) == (\d+)\);", f.read())
        checked = 0
        for kind, struct, field, value in rules:
            mirror = _MIRRORS.get(struct)
            if mirror is None:
                continue
            got = ctypes.sizeof(mirror) if kind == "sizeof" else getattr(mirror, field).offset
            self.assertEqual(got, int(value), f"{kind}({struct}{', ' + field if field else ''})")
            checked += 1
        self.assertGreaterEqual(checked, 30, "client_layout.h or layout.h was not found")


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        settings = {"backend-option": "catalog-sqlite.path=" + os.path.join(self.dir.name, "m.db"),
                    "heartbeat-interval": "500ms", "log-level": "warn"}
        self.a = muster.Client(settings)
        self.b = muster.Client(settings)

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.dir.cleanup()

    def test_register_resolve_watch_pick(self):
        events, lock = [], threading.Lock()

        def on_event(event, inst, backend):
            with lock:
                events.append((event, inst.address, backend))

        sub = self.a.subscribe("router", on_event)
        router = self.b.register("router", "10.0.0.1:7000", metadata={"zone": "a"})
        me = self.a.register("querier", "10.0.0.2:7001")
        self.assertTrue(eventually(lambda: (muster.ADDED, "10.0.0.1:7000", "catalog-sqlite") in events))
        routers = self.a.resolve("router")
        self.assertEqual([r.address for r in routers], ["10.0.0.1:7000"])
        self.assertEqual(routers[0].metadata["zone"], "a")
        self.assertEqual(routers.backend, "catalog-sqlite")
        self.assertFalse(routers.stale)
        self.assertTrue(eventually(lambda: [q.id for q in self.b.resolve("querier")] == [me.id]))

        call = self.a.picker("router", policy="random").pick()
        self.assertEqual(call.instance.address, "10.0.0.1:7000")
        call.success(250)

        router.set_health(muster.WARNING, "busy")
        self.assertTrue(eventually(lambda: self.a.resolve("router")[0].health == muster.WARNING))
        router.drain()
        self.assertTrue(eventually(lambda: self.a.picker("router").pick() is None))
        router.deregister()
        self.assertTrue(eventually(lambda: (muster.REMOVED, "10.0.0.1:7000", "catalog-sqlite") in events))
        sub.cancel()
        me.deregister()

    def test_a_registration_whose_object_is_dropped_stays_until_close(self):
        self.b.register("worker", "10.0.0.9:1")  # the result is not kept
        gc.collect()
        workers = lambda: [w.address for w in self.a.resolve("worker")]
        self.assertTrue(eventually(lambda: workers() == ["10.0.0.9:1"]))
        gc.collect()
        end = time.monotonic() + 1.5  # three heartbeats, and a removal would have shown
        while time.monotonic() < end:
            self.assertEqual(workers(), ["10.0.0.9:1"])
            time.sleep(0.05)
        self.b.close()
        self.assertTrue(eventually(lambda: workers() == []))

    def test_set_log_takes_the_lines_at_the_client_level(self):
        lines, lock = [], threading.Lock()

        def collect(level, message):
            with lock:
                lines.append((level, message))

        muster.set_log(collect)
        try:
            settings = {"backend-option": "catalog-sqlite.path=" + os.path.join(self.dir.name, "m.db"),
                        "log-level": "info"}
            with muster.Client(settings) as chatty:
                me = chatty.register("logged", "10.0.0.7:1")
                with lock:
                    self.assertIn((muster.INFO, "registered logged " + me.id + " at 10.0.0.7:1 (passing)"), lines)
        finally:
            muster.set_log(None)

    def test_bad_input_is_an_error_with_a_status(self):
        with self.assertRaises(muster.Error) as e:
            self.a.resolve("Not A Role")
        self.assertEqual(e.exception.status, "invalid_argument")
        with self.assertRaises(muster.Error) as e:
            muster.Client({"heartbeat-interval": "soon"})
        self.assertEqual(e.exception.status, "invalid_argument")
        self.assertIn("heartbeat", str(e.exception))
        with self.assertRaises(muster.Error) as e:
            self.a.picker("router", policy="fastest")
        self.assertEqual(e.exception.status, "invalid_argument")

    # docs/security.md, item 7: a callback may call the API; each case
    # finishes (run on a thread with a deadline) instead of hanging.
    def finishes(self, f, limit=20.0):
        done = threading.Event()
        threading.Thread(target=lambda: (f(), done.set()), daemon=True).start()
        return done.wait(limit)

    def test_a_callback_that_deregisters_or_drops_its_subscription_does_not_hang(self):
        mine = self.a.register("worker", "10.0.0.1:80")
        state = {"stepped_down": False, "calls": 0}

        def step_down(event, inst, backend):
            state["calls"] += 1
            if event == muster.REMOVED and inst.address == "10.0.0.2:80":
                mine.deregister()  # my peer left, so I step down
                state["stepped_down"] = True
                state.pop("sub").cancel()  # and stop listening, from inside the callback

        state["sub"] = self.a.subscribe("worker", step_down)
        peer = self.b.register("worker", "10.0.0.2:80")
        # a must have seen the peer come before it can see it go.
        self.assertTrue(eventually(lambda: any(i.address == "10.0.0.2:80" for i in self.a.resolve("worker"))))
        self.assertTrue(self.finishes(peer.deregister))
        self.assertTrue(eventually(lambda: state["stepped_down"]))
        calls = state["calls"]
        time.sleep(0.5)
        self.assertEqual(state["calls"], calls)  # never called after its cancel

    def test_a_callback_that_closes_its_client_does_not_hang(self):
        closed = threading.Event()

        def close_on_peer(event, inst, backend):
            if event == muster.ADDED and inst.address == "10.0.0.9:80" and not closed.is_set():
                closed.set()
                self.a.close()

        sub = self.a.subscribe("worker", close_on_peer)  # kept: dropping it would cancel it
        peer = self.b.register("worker", "10.0.0.9:80")
        self.assertTrue(closed.wait(15))
        self.assertTrue(self.finishes(peer.deregister))
        sub.cancel()


if __name__ == "__main__":
    unittest.main()
