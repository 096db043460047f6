"""muster for Python: service discovery through libmuster's C API (ctypes,
no third-party package). See docs/embedding.md.

    client = muster.Client({"backend-option": "catalog-sqlite.path=/tmp/m.db"})
    me = client.register("querier", "10.0.0.5:7001")
    routers = client.resolve("router")          # a list of Instance
    sub = client.subscribe("router", lambda event, inst, backend: ...)
    call = client.picker("router").pick()       # call.instance, call.success()
    me.deregister(); client.close()

The library is found as MUSTER_LIBRARY names it, else as the system finds
libmuster.so.1.
"""
import atexit
import ctypes
import ctypes.util
import os
import threading
import traceback
import weakref

__all__ = ["Client", "Error", "Instance", "PASSING", "WARNING", "CRITICAL", "ADDED", "CHANGED", "REMOVED", "set_log",
           "TRACE", "DEBUG", "INFO", "WARN", "ERROR"]

PASSING, WARNING, CRITICAL = 0, 1, 2
TRACE, DEBUG, INFO, WARN, ERROR = 0, 1, 2, 3, 4  # muster_log_level
ADDED, CHANGED, REMOVED = 0, 1, 2
_STATUS = ["ok", "not_found", "unavailable", "try_again", "invalid_argument", "unsupported", "conflict", "internal"]


class _KV(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class _Instance(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("health", ctypes.c_uint32), ("id", ctypes.c_char_p),
                ("role", ctypes.c_char_p), ("address", ctypes.c_char_p), ("metadata", ctypes.POINTER(_KV)),
                ("metadata_count", ctypes.c_size_t), ("registered_at_ms", ctypes.c_int64),
                ("last_seen_ms", ctypes.c_int64), ("stopped_at_ms", ctypes.c_int64)]


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int32), ("message", ctypes.c_char * 512)]


class _Config(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("config_path", ctypes.c_char_p),
                ("config_text", ctypes.c_char_p), ("settings", ctypes.POINTER(_KV)),
                ("settings_count", ctypes.c_size_t)]


class _Service(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("role", ctypes.c_char_p),
                ("address", ctypes.c_char_p), ("id", ctypes.c_char_p), ("metadata", ctypes.POINTER(_KV)),
                ("metadata_count", ctypes.c_size_t), ("checks", ctypes.POINTER(ctypes.c_char_p)),
                ("checks_count", ctypes.c_size_t), ("depends_on", ctypes.POINTER(ctypes.c_char_p)),
                ("depends_on_count", ctypes.c_size_t)]


class _Snapshot(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("stale", ctypes.c_uint32), ("role", ctypes.c_char_p),
                ("instances", ctypes.POINTER(_Instance)), ("count", ctypes.c_size_t), ("backend", ctypes.c_char_p),
                ("as_of_ms", ctypes.c_int64), ("held", ctypes.c_size_t)]


class _PickerOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("policy", ctypes.c_char_p),
                ("zone", ctypes.c_char_p), ("region", ctypes.c_char_p), ("panic_threshold", ctypes.c_double)]


_TOPOLOGY_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(_Instance), ctypes.c_char_p)
_LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
_P = ctypes.c_void_p
_CONFLICT = 6  # MUSTER_CONFLICT (status.h)


def _load():
    path = os.environ.get("MUSTER_LIBRARY") or ctypes.util.find_library("muster") or "libmuster.so.1"
    lib = ctypes.CDLL(path)
    err = ctypes.POINTER(_Error)
    signatures = {
        "muster_client_version": (ctypes.c_uint32, []),
        "muster_client_open": (ctypes.c_int, [ctypes.POINTER(_Config), ctypes.POINTER(_P), err]),
        "muster_client_close": (None, [_P]),
        "muster_register": (ctypes.c_int, [_P, ctypes.POINTER(_Service), ctypes.POINTER(_P), err]),
        "muster_registration_id": (ctypes.c_char_p, [_P]),
        "muster_set_health": (ctypes.c_int, [_P, ctypes.c_int, ctypes.c_char_p, ctypes.c_int64, err]),
        "muster_drain": (ctypes.c_int, [_P, ctypes.c_int, err]),
        "muster_deregister": (ctypes.c_int, [_P, err]),
        "muster_resolve": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.POINTER(_Snapshot)), err]),
        "muster_snapshot_free": (None, [ctypes.POINTER(_Snapshot)]),
        "muster_subscribe": (ctypes.c_int, [_P, ctypes.c_char_p, _TOPOLOGY_FN, _P, ctypes.POINTER(_P), err]),
        "muster_unsubscribe": (ctypes.c_int, [_P]),
        "muster_picker_open": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.POINTER(_PickerOptions),
                                              ctypes.POINTER(_P), err]),
        "muster_picker_close": (None, [_P]),
        "muster_pick": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(_P), err]),
        "muster_call_instance": (ctypes.POINTER(_Instance), [_P]),
        "muster_call_end": (None, [_P, ctypes.c_int, ctypes.c_int64]),
    }
    if hasattr(lib, "muster_set_log"):  # libmuster 1.2
        signatures["muster_set_log"] = (None, [_LOG_FN, _P])
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    if lib.muster_client_version() >> 16 != 1:
        raise ImportError(f"{path} is not libmuster 1.x")
    return lib


_lib = _load()
_log_fn = None  # the callback the library holds, kept alive here


def set_log(callback):
    """Sends muster's log lines to callback(level, message) instead of
    stderr (level: TRACE, DEBUG, INFO, WARN or ERROR; the message without
    time or level); None sends them to stderr again. Process-wide: the
    lines are those at the log-level setting of the client opened last
    (warn unless set). The callback runs on the thread that logs and must
    not call muster. Needs libmuster 1.2."""
    global _log_fn
    if not hasattr(_lib, "muster_set_log"):
        raise RuntimeError("set_log needs libmuster 1.2 or later")
    if callback is None:
        _lib.muster_set_log(_LOG_FN(), None)
        _log_fn = None
        return

    def trampoline(_user, level, message):
        try:
            callback(level, message.decode(errors="replace"))
        except Exception:  # an exception must not unwind into C
            traceback.print_exc()

    fn = _LOG_FN(trampoline)
    _lib.muster_set_log(fn, None)
    _log_fn = fn


# Library threads may log while the interpreter shuts down: stderr again first.
atexit.register(lambda: _log_fn is not None and set_log(None))


class Error(Exception):
    """A failed call: status is the muster_status name ("invalid_argument", ...)."""

    def __init__(self, code, message):
        self.status = _STATUS[code] if 0 <= code < len(_STATUS) else str(code)
        super().__init__(f"{self.status}: {message}")


def _check(code, err):
    if code != 0:
        raise Error(code, err.message.decode("utf-8", "replace"))


def _b(s):
    return None if s is None else s.encode("utf-8")


class Instance:
    """An instance as a snapshot, an event or a pick shows it (copied out of the C struct)."""

    __slots__ = ("id", "role", "address", "health", "metadata", "registered_at_ms", "last_seen_ms")

    def __init__(self, c):
        self.id = c.id.decode()
        self.role = c.role.decode()
        self.address = c.address.decode()
        self.health = c.health
        self.metadata = {c.metadata[i].key.decode(): c.metadata[i].value.decode() for i in range(c.metadata_count)}
        self.registered_at_ms = c.registered_at_ms
        self.last_seen_ms = c.last_seen_ms

    def __repr__(self):
        return f"Instance({self.role} {self.address} {self.id})"


class Snapshot(list):
    """The instances of a role, with where they came from."""

    def __init__(self, instances, backend, as_of_ms, stale):
        super().__init__(instances)
        self.backend, self.as_of_ms, self.stale = backend, as_of_ms, stale


class Registration:
    """A registered instance: heartbeated until deregister() or the client's
    close(). Dropping the object does not deregister: the client keeps it
    (a `client.register(...)` whose result is not kept stays registered)."""

    def __init__(self, handle, client):
        self._h = handle
        self._client = weakref.ref(client)  # not a strong one: the client holds this
        self.id = _lib.muster_registration_id(handle).decode()

    def set_health(self, health, reason=None, ttl_ms=0):
        err = _Error()
        _check(_lib.muster_set_health(self._h, health, _b(reason), ttl_ms, ctypes.byref(err)), err)

    def drain(self, on=True):
        err = _Error()
        _check(_lib.muster_drain(self._h, 1 if on else 0, ctypes.byref(err)), err)

    def deregister(self):
        if self._h:
            h, self._h, err = self._h, None, _Error()
            client = self._client()
            if client is not None:
                client._registrations.discard(self)
            _check(_lib.muster_deregister(h, ctypes.byref(err)), err)

    def __del__(self):
        # Collected only once the client let go of it: deregistered or
        # closed. The handle is freed; after a close there is nothing left
        # to deregister.
        if getattr(self, "_h", None):
            _lib.muster_deregister(self._h, None)


class Subscription:
    """Calls back on a library thread; cancel() (or losing the object) ends it."""

    def __init__(self, handle, trampoline):
        self._h, self._trampoline = handle, trampoline  # the trampoline must outlive the handle

    def cancel(self):
        if self._h:
            h, self._h = self._h, None
            if _lib.muster_unsubscribe(h) == _CONFLICT:
                # Inside its own callback, which the library cannot wait
                # for: another thread unsubscribes once it has returned.
                # The lambda holds the trampoline until then.
                fn = self._trampoline
                threading.Thread(target=lambda: (_lib.muster_unsubscribe(h), fn), daemon=True).start()

    __del__ = cancel


class Call:
    def __init__(self, handle):
        self._h = handle
        self.instance = Instance(_lib.muster_call_instance(handle).contents)

    def _end(self, outcome, latency_us):
        if self._h:
            h, self._h = self._h, None
            _lib.muster_call_end(h, outcome, latency_us)

    def success(self, latency_us=-1):
        self._end(1, latency_us)

    def failure(self, latency_us=-1):
        self._end(2, latency_us)

    def __del__(self):
        self._end(0, -1)


class Picker:
    def __init__(self, handle):
        self._h = handle

    def pick(self, key=None):
        """A Call, or None when nothing can be picked (none listed, or all drained)."""
        out, err = _P(), _Error()
        k = _b(key)
        code = _lib.muster_pick(self._h, k, len(k) if k else 0, ctypes.byref(out), ctypes.byref(err))
        if code == 1:  # not_found
            return None
        _check(code, err)
        return Call(out)

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.muster_picker_close(self._h)
            self._h = None


class Client:
    """A registry over the chain muster-host's settings describe.

    settings: {"name": value} by muster-host's command-line names without
    "--" (a list value repeats the setting); config_path: a muster-host
    configuration file; config_text: the same as text."""

    def __init__(self, settings=None, config_path=None, config_text=None):
        pairs = []
        for k, v in (settings or {}).items():
            for one in v if isinstance(v, (list, tuple)) else [v]:
                pairs.append((_b(k), _b(str(one))))
        kvs = (_KV * max(1, len(pairs)))(*[_KV(k, v) for k, v in pairs])
        c = _Config(ctypes.sizeof(_Config), 0, _b(config_path), _b(config_text), kvs, len(pairs))
        out, err = _P(), _Error()
        _check(_lib.muster_client_open(ctypes.byref(c), ctypes.byref(out), ctypes.byref(err)), err)
        self._h = out
        self._registrations = set()  # kept until deregister() or close(), not dropped with the caller's reference

    def register(self, role, address, id=None, metadata=None, checks=(), depends_on=()):
        meta = list((metadata or {}).items())
        kvs = (_KV * max(1, len(meta)))(*[_KV(_b(k), _b(v)) for k, v in meta])
        chk = (ctypes.c_char_p * max(1, len(checks)))(*[_b(c) for c in checks])
        deps = (ctypes.c_char_p * max(1, len(depends_on)))(*[_b(d) for d in depends_on])
        s = _Service(ctypes.sizeof(_Service), 0, _b(role), _b(address), _b(id), kvs, len(meta), chk, len(checks),
                     deps, len(depends_on))
        out, err = _P(), _Error()
        _check(_lib.muster_register(self._h, ctypes.byref(s), ctypes.byref(out), ctypes.byref(err)), err)
        registration = Registration(out, self)
        self._registrations.add(registration)
        return registration

    def resolve(self, role):
        out, err = ctypes.POINTER(_Snapshot)(), _Error()
        _check(_lib.muster_resolve(self._h, _b(role), ctypes.byref(out), ctypes.byref(err)), err)
        try:
            s = out.contents
            return Snapshot([Instance(s.instances[i]) for i in range(s.count)], s.backend.decode(), s.as_of_ms,
                            bool(s.stale))
        finally:
            _lib.muster_snapshot_free(out)

    def subscribe(self, role, callback):
        """callback(event, instance, backend): event is ADDED, CHANGED or REMOVED. role None: every role."""

        def trampoline(_user, event, inst, backend):
            try:
                callback(event, Instance(inst.contents), backend.decode())
            except Exception:  # an exception must not unwind into C
                traceback.print_exc()

        fn = _TOPOLOGY_FN(trampoline)
        out, err = _P(), _Error()
        _check(_lib.muster_subscribe(self._h, _b(role), fn, None, ctypes.byref(out), ctypes.byref(err)), err)
        return Subscription(out, fn)

    def picker(self, role, policy=None, zone=None, region=None, panic_threshold=0.0):
        o = _PickerOptions(ctypes.sizeof(_PickerOptions), 0, _b(policy), _b(zone), _b(region), panic_threshold)
        out, err = _P(), _Error()
        _check(_lib.muster_picker_open(self._h, _b(role), ctypes.byref(o), ctypes.byref(out), ctypes.byref(err)), err)
        return Picker(out)

    def close(self):
        """Deregisters what this client registered and stops it."""
        if self._h:
            h, self._h = self._h, None
            _lib.muster_client_close(h)
            self._registrations.clear()  # their handles are freed as they go

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None):
            self.close()
