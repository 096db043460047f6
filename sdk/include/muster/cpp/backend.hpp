// C++ helpers for the muster ABI: a backend as a C++ class.
//
//   class MyBackend : public muster::sdk::Backend {
//   public:
//       static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // from muster_add_plugin(... NAME ...)
//       static constexpr const char* kDescription = "one line";
//       static constexpr std::uint64_t kCapabilities = MUSTER_BACKEND_CAP_WATCH;
//       static std::span<const muster_option_spec> options();
//       explicit MyBackend(const muster::sdk::BackendContext&);
//       ... override the pure virtuals (and watch/reap for their capabilities) ...
//   };
//   MUSTER_EXPORT_BACKEND(MyBackend, "1.0")   // name and description: kName, kDescription
//
// The trampolines are noexcept: they validate every input against rules
// F1-F5 (so a class only ever sees valid values), check options against the
// schema, and turn exceptions into status codes.
#pragma once

#include <muster/backend.h>
#include <muster/cpp/error.hpp>
#include <muster/cpp/events.hpp>
#include <muster/cpp/instance.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/plugin.hpp>
#include <muster/cpp/validate.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace muster::sdk {

// A role, or every role (nullopt). Borrowed for the call: copy it to keep it.
using RoleFilter = std::optional<std::string_view>;

// What a backend's constructor receives.
struct BackendContext {
    Host host;
    Options options;          // checked against the class's schema
    std::int64_t ttl_ms = 0;  // the liveness window
};

class Backend {
public:
    virtual ~Backend() = default;

    // The contracts are those of the same slots in backend.h. Throw Error
    // with a status for anything but success.
    virtual void register_instance(const Instance& instance) = 0;
    // results has ids.size() entries: OK or NOT_FOUND per id.
    virtual void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) = 0;
    virtual void deregister(std::string_view id) = 0;
    // Return false from `sink` to stop early.
    virtual void list(RoleFilter role, std::uint32_t flags, const std::function<bool(const Instance&)>& sink) = 0;
    // MUSTER_BACKEND_CAP_REAP: how many were deleted.
    virtual std::uint64_t reap(std::int64_t /*retain_ms*/) {
        throw Error(MUSTER_UNSUPPORTED, "this backend does not reap");
    }
    // MUSTER_BACKEND_CAP_WATCH: a watch delivering to `sink` until it is
    // destroyed (see Watch); WatchHub makes one for stores that can only
    // say "something changed".
    virtual std::unique_ptr<Watch> watch(RoleFilter /*role*/, WatchSink /*sink*/) {
        throw Error(MUSTER_UNSUPPORTED, "this backend does not watch");
    }
    // Whether `role` can ever be listed here (backend.h holds_role): from
    // memory, no I/O, any thread. Most stores hold every role.
    virtual bool holds_role(std::string_view /*role*/) const { return true; }
};

namespace detail {

inline void require(const std::string& problem) {
    if (!problem.empty()) throw Error(MUSTER_INVALID_ARGUMENT, problem);
}

// What the SDK hands the host as a muster_watch*.
struct WatchHandle {
    std::unique_ptr<Watch> watch;
    WatchSink sink;
};

template <class T>
struct BackendTrampolines {
    static T* self(muster_backend* b) { return reinterpret_cast<T*>(b); }

    static muster_status create(const muster_backend_config* cfg, muster_backend** out, muster_error* err) noexcept {
        return guard(err, [&] {
            if (!cfg || cfg->struct_size < sizeof(muster_backend_config) || !out)
                throw Error(MUSTER_INVALID_ARGUMENT, "backend config is missing or too small");
            if (cfg->option_count > 0 && !cfg->options)
                throw Error(MUSTER_INVALID_ARGUMENT, "options is NULL but option_count > 0");
            std::vector<std::pair<std::string, std::string>> given;
            for (std::size_t i = 0; i < cfg->option_count; ++i) {
                if (!cfg->options[i].name || !cfg->options[i].value)
                    throw Error(MUSTER_INVALID_ARGUMENT, "option name or value is NULL");
                given.emplace_back(cfg->options[i].name, cfg->options[i].value);
            }
            std::map<std::string, std::string> values;
            auto schema = T::options();
            require(check_options(schema.data(), schema.size(), given, values));
            if (cfg->ttl_ms <= 0) throw Error(MUSTER_INVALID_ARGUMENT, "ttl_ms must be positive");
            BackendContext ctx{Host(cfg->host), Options(std::move(values)), cfg->ttl_ms};
            *out = reinterpret_cast<muster_backend*>(new T(ctx));
            return MUSTER_OK;
        });
    }
    static void destroy(muster_backend* b) noexcept { delete self(b); }

    static muster_status register_instance(muster_backend* b, const muster_instance* in, muster_error* err) noexcept {
        return guard(err, [&] {
            require(check_instance(in));
            self(b)->register_instance(from_c(*in));
            return MUSTER_OK;
        });
    }
    static muster_status heartbeat(muster_backend* b, const char* const* ids, std::size_t n, muster_status* results,
                                   muster_error* err) noexcept {
        return guard(err, [&] {
            if (n > 0 && (!ids || !results)) throw Error(MUSTER_INVALID_ARGUMENT, "ids or results is NULL");
            std::vector<std::string_view> views;
            views.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                if (!ids[i]) throw Error(MUSTER_INVALID_ARGUMENT, "an id is NULL");
                require(check_id(ids[i]));
                views.emplace_back(ids[i]);
            }
            if (n > 0) self(b)->heartbeat(views, std::span<muster_status>(results, n));
            return MUSTER_OK;
        });
    }
    static muster_status deregister(muster_backend* b, const char* id, muster_error* err) noexcept {
        return guard(err, [&] {
            if (!id) throw Error(MUSTER_INVALID_ARGUMENT, "id is NULL");
            require(check_id(id));
            self(b)->deregister(id);
            return MUSTER_OK;
        });
    }
    static muster_status list(muster_backend* b, const char* role, std::uint32_t flags, muster_instance_sink sink,
                              void* user, muster_error* err) noexcept {
        return guard(err, [&] {
            if (!sink) throw Error(MUSTER_INVALID_ARGUMENT, "sink is NULL");
            if (flags & ~(MUSTER_LIST_INCLUDE_STOPPED | MUSTER_LIST_INCLUDE_STALE))
                throw Error(MUSTER_INVALID_ARGUMENT, "unknown list flags");
            if (role) require(check_role(role));
            self(b)->list(role ? RoleFilter(role) : std::nullopt, flags, [&](const Instance& i) {
                CView view(i);
                return sink(user, view.get()) == 0;
            });
            return MUSTER_OK;
        });
    }
    static muster_status reap(muster_backend* b, std::int64_t retain_ms, std::uint64_t* removed,
                              muster_error* err) noexcept {
        return guard(err, [&] {
            if (retain_ms < 0) throw Error(MUSTER_INVALID_ARGUMENT, "retain_ms must not be negative");
            std::uint64_t n = self(b)->reap(retain_ms);
            if (removed) *removed = n;
            return MUSTER_OK;
        });
    }
    static muster_status watch(muster_backend* b, const char* role, muster_watch_fn cb, void* user, muster_watch** out,
                               muster_error* err) noexcept {
        return guard(err, [&] {
            if (!cb || !out) throw Error(MUSTER_INVALID_ARGUMENT, "callback or out is NULL");
            if (role) require(check_role(role));
            WatchSink sink(cb, user);
            auto w = self(b)->watch(role ? RoleFilter(role) : std::nullopt, sink);
            if (!w) throw Error(MUSTER_INTERNAL, "the backend's watch() returned no watch");
            // The ABI's opaque handle is this SDK's own record, never defined globally.
            *out = reinterpret_cast<muster_watch*>(new WatchHandle{std::move(w), sink});
            return MUSTER_OK;
        });
    }
    // Ends the watch, then sends TERMINATED: exactly once, and last (W3).
    static void unwatch(muster_backend*, muster_watch* w) noexcept {
        if (!w) return;
        auto* h = reinterpret_cast<WatchHandle*>(w);
        WatchSink sink = h->sink;
        delete h;
        sink(MUSTER_EVENT_TERMINATED, nullptr, MUSTER_OK, "unwatched");
    }

    static int holds_role(muster_backend* b, const char* role) noexcept {
        if (!role || !check_role(role).empty()) return 0;
        try {
            return self(b)->holds_role(role) ? 1 : 0;
        } catch (...) {
            return 1;  // unsure: the chain asks, and the answer tells
        }
    }

    static constexpr muster_backend_v1 make_vtable() {
        muster_backend_v1 v{};
        v.struct_size = sizeof(muster_backend_v1);
        v.minor_version = MUSTER_ABI_MINOR;
        v.capabilities = T::kCapabilities;
        v.name = T::kName;
        v.description = T::kDescription;
        v.create = &create;
        v.destroy = &destroy;
        v.register_instance = &register_instance;
        v.heartbeat = &heartbeat;
        v.deregister = &deregister;
        v.list = &list;
        v.reap = &reap;
        v.watch = &watch;
        v.unwatch = &unwatch;
        v.holds_role = &holds_role;
        return v;
    }
};

}  // namespace detail

// The kind entry for MUSTER_EXPORT_PLUGIN.
template <class T>
muster_kind backend_kind() {
    static muster_backend_v1 vtable = [] {
        auto v = detail::BackendTrampolines<T>::make_vtable();
        auto schema = T::options();
        v.options = schema.data();
        v.option_count = schema.size();
        return v;
    }();
    return muster_kind{MUSTER_KIND_BACKEND, &vtable};
}

}  // namespace muster::sdk
