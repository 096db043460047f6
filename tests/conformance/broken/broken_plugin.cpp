// A deliberately broken backend for testing the conformance suite: it wraps
// the memory plugin (loaded from MEMORY_PLUGIN_PATH) and breaks exactly one
// rule, chosen by the BREAK_* macro it is compiled with. The suite must fail
// each variant on that rule (tests/CMakeLists.txt asserts which).
#include <muster/export.h>
#include <muster/muster.h>

#include <dlfcn.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace {

muster_backend_v1 wrapped;  // our vtable: the memory plugin's with one slot swapped
const muster_backend_v1* inner = nullptr;
muster_kind kind{MUSTER_KIND_BACKEND, &wrapped};
muster_plugin_descriptor descriptor{sizeof(muster_plugin_descriptor),
                                    MUSTER_ABI_MAJOR,
                                    MUSTER_ABI_MINOR,
                                    0,
                                    BROKEN_NAME,
                                    "0.0.0",
                                    "a deliberately broken plugin",
                                    &kind,
                                    1};

[[maybe_unused]] muster_status list_ignoring_ttl(muster_backend* b, const char* role, uint32_t, muster_instance_sink s,
                                                 void* u, muster_error* e) {
    return inner->list(b, role, MUSTER_LIST_INCLUDE_STALE, s, u, e);
}
[[maybe_unused]] muster_status deregister_nothing(muster_backend*, const char*, muster_error*) { return MUSTER_OK; }
[[maybe_unused]] muster_status list_every_role(muster_backend* b, const char*, uint32_t f, muster_instance_sink s,
                                               void* u, muster_error* e) {
    return inner->list(b, nullptr, f, s, u, e);
}

struct Forward {
    muster_instance_sink sink;
    void* user;
};
[[maybe_unused]] muster_status list_mangling_metadata(muster_backend* b, const char* role, uint32_t f,
                                                      muster_instance_sink s, void* u, muster_error* e) {
    if (!s) return inner->list(b, role, f, s, u, e);
    Forward fw{s, u};
    auto mangle = [](void* user, const muster_instance* in) -> int {
        auto* fw = static_cast<Forward*>(user);
        muster_instance copy = *in;
        muster_kv kv[MUSTER_META_KEYS_MAX];
        std::string values[MUSTER_META_KEYS_MAX];
        for (size_t i = 0; i < in->metadata_count && i < MUSTER_META_KEYS_MAX; ++i) {
            values[i] = in->metadata[i].value;
            for (auto& ch : values[i])
                if (ch == '\'' || ch == '"') ch = ' ';  // the classic naive escaping bug
            kv[i] = {in->metadata[i].key, values[i].c_str()};
        }
        copy.metadata = kv;
        return fw->sink(fw->user, &copy);
    };
    return inner->list(b, role, f, mangle, &fw, e);
}
[[maybe_unused]] muster_status heartbeat_nothing(muster_backend*, const char* const*, size_t n, muster_status* r,
                                                 muster_error*) {
    for (size_t i = 0; i < n; ++i) r[i] = MUSTER_OK;
    return MUSTER_OK;
}
[[maybe_unused]] muster_status register_anything(muster_backend* b, const muster_instance* in, muster_error* e) {
    if (!in || !in->id || !in->role || !in->address || std::strlen(in->id) != 36) return MUSTER_OK;  // "accepted"
    return inner->register_instance(b, in, e);
}

// Swallows TERMINATED: the watch never says it is done.
struct Swallow {
    muster_watch_fn fn;
    void* user;
};
[[maybe_unused]] muster_status watch_without_terminal(muster_backend* b, const char* role, muster_watch_fn fn, void* u,
                                                      muster_watch** out, muster_error* e) {
    auto* s = new Swallow{fn, u};  // leaked on purpose: this plugin is broken
    auto cb = [](void* user, const muster_watch_event* ev) {
        auto* s = static_cast<Swallow*>(user);
        if (ev->type != MUSTER_EVENT_TERMINATED) s->fn(s->user, ev);
    };
    return inner->watch(b, role, cb, s, out, e);
}
// Calls the callback once more after unwatch() has returned, when the host
// may already have freed what `user` points at (rule W3).
struct Late {
    muster_watch_fn fn;
    void* user;
};
std::mutex late_mu;
std::map<muster_watch*, Late> late;
[[maybe_unused]] muster_status watch_remembering(muster_backend* b, const char* role, muster_watch_fn fn, void* u,
                                                 muster_watch** out, muster_error* e) {
    muster_status st = inner->watch(b, role, fn, u, out, e);
    if (st == MUSTER_OK) {
        std::lock_guard lk(late_mu);
        late[*out] = {fn, u};
    }
    return st;
}
[[maybe_unused]] void unwatch_then_call(muster_backend* b, muster_watch* w) {
    inner->unwatch(b, w);
    Late l;
    {
        std::lock_guard lk(late_mu);
        l = late[w];
        late.erase(w);
    }
    std::thread([l] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        muster_watch_event ev{sizeof ev, MUSTER_EVENT_SYNCED, nullptr, MUSTER_OK, 0, nullptr};
        l.fn(l.user, &ev);
    }).detach();
}
// Answers an empty list while the store is down, as if the role were empty (rule U1).
[[maybe_unused]] muster_status list_hiding_outage(muster_backend* b, const char* role, std::uint32_t flags,
                                                  muster_instance_sink sink, void* user, muster_error* e) {
    muster_status st = inner->list(b, role, flags, sink, user, e);
    return st == MUSTER_UNAVAILABLE ? MUSTER_OK : st;
}
[[maybe_unused]] muster_status create_ignoring_unknown(const muster_backend_config* cfg, muster_backend** out,
                                                       muster_error* e) {
    muster_backend_config known = *cfg;
    known.option_count = 0;  // drops everything, the unknown option included
    return inner->create(&known, out, e);
}

bool load_inner(const muster_negotiation* in) {
    if (inner) return true;
    void* lib = dlopen(MEMORY_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return false;
    auto negotiate = reinterpret_cast<muster_plugin_negotiate_fn>(dlsym(lib, MUSTER_ENTRY_SYMBOL));
    const muster_plugin_descriptor* d = nullptr;
    muster_error err{};
    muster_negotiation mine = *in;
    mine.host_abi_major = MUSTER_ABI_MAJOR;
    if (!negotiate || negotiate(&mine, &d, &err) != MUSTER_OK) return false;
    inner = static_cast<const muster_backend_v1*>(d->kinds[0].vtable);
    wrapped = *inner;
    wrapped.name = BROKEN_NAME;
#if defined(BREAK_STALE_LISTED)
    wrapped.list = list_ignoring_ttl;
#elif defined(BREAK_DEREGISTER)
    wrapped.deregister = deregister_nothing;
#elif defined(BREAK_ROLES)
    wrapped.list = list_every_role;
#elif defined(BREAK_METADATA)
    wrapped.list = list_mangling_metadata;
#elif defined(BREAK_HEARTBEAT)
    wrapped.heartbeat = heartbeat_nothing;
#elif defined(BREAK_BAD_INPUT)
    wrapped.register_instance = register_anything;
#elif defined(BREAK_NO_TERMINAL)
    wrapped.watch = watch_without_terminal;
#elif defined(BREAK_OPTIONS)
    wrapped.create = create_ignoring_unknown;
#elif defined(BREAK_HIDES_OUTAGE)
    wrapped.list = list_hiding_outage;
#elif defined(BREAK_AFTER_UNWATCH)
    wrapped.watch = watch_remembering;
    wrapped.unwatch = unwatch_then_call;
#endif
    return true;
}

}  // namespace

MUSTER_PLUGIN_EXPORT muster_status muster_plugin_negotiate(const muster_negotiation* in,
                                                           const muster_plugin_descriptor** out, muster_error* err) {
#if defined(BREAK_CRASH_LOAD)
    std::raise(SIGSEGV);  // the suite must report L1 failed, not die with the plugin
#elif defined(BREAK_ABI_NEWER)
    descriptor.abi_major = MUSTER_ABI_MAJOR + 1;
#elif defined(BREAK_ABI_OLDER)
    descriptor.abi_major = MUSTER_ABI_MAJOR - 1;
#endif
    *out = &descriptor;
    if (in->host_abi_major != MUSTER_ABI_MAJOR) return MUSTER_UNSUPPORTED;
    if (!load_inner(in)) {
        std::strcpy(err->message, "cannot load the memory plugin");
        return MUSTER_INTERNAL;
    }
    return MUSTER_OK;
}
