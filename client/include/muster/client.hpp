// C++ over libmuster's C API (client.h), header-only: handles freed by
// destructors, failures thrown as muster::client::Error, callbacks as
// std::function. It adds no state of its own, so what client.h says about
// ownership and threading holds here too (docs/embedding.md).
#pragma once

#include <muster/client.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace muster::client {

struct Error : std::runtime_error {
    Error(muster_status s, const char* message) : std::runtime_error(message), status(s) {}
    muster_status status;
};

namespace detail {
inline void check(muster_status s, const muster_error& err) {
    if (s != MUSTER_OK) throw Error(s, err.message);
}
template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
inline std::vector<muster_kv> kvs(const std::map<std::string, std::string>& m) {
    std::vector<muster_kv> out;
    for (const auto& [k, v] : m) out.push_back({k.c_str(), v.c_str()});
    return out;
}
inline std::vector<const char*> cstrs(const std::vector<std::string>& v) {
    std::vector<const char*> out;
    for (const auto& s : v) out.push_back(s.c_str());
    return out;
}
}  // namespace detail

// An instance as a snapshot or a call borrows it.
using Instance = muster_instance;

inline std::string metadata(const Instance& i, std::string_view key, std::string fallback = {}) {
    for (std::size_t k = 0; k < i.metadata_count; ++k)
        if (key == i.metadata[k].key) return i.metadata[k].value;
    return fallback;
}

class Registration {
public:
    const char* id() const { return muster_registration_id(reg_.get()); }
    void set_health(muster_health h, const std::string& reason = {},
                    std::chrono::milliseconds ttl = std::chrono::milliseconds(0)) {
        muster_error err{};
        detail::check(muster_set_health(reg_.get(), h, reason.c_str(), ttl.count(), &err), err);
    }
    void drain(bool on = true) {
        muster_error err{};
        detail::check(muster_drain(reg_.get(), on ? 1 : 0, &err), err);
    }
    // Deregisters now; the destructor does it otherwise (without throwing).
    void stop() {
        muster_error err{};
        detail::check(muster_deregister(reg_.release(), &err), err);
    }

private:
    friend class Client;
    static void deregister(muster_registration* r) { muster_deregister(r, nullptr); }
    explicit Registration(muster_registration* r) : reg_(r) {}
    std::unique_ptr<muster_registration, detail::Deleter<muster_registration, deregister>> reg_;
};

class Snapshot {
public:
    const Instance* begin() const { return s_->instances; }
    const Instance* end() const { return s_->instances + s_->count; }
    std::size_t size() const { return s_->count; }
    const char* backend() const { return s_->backend; }
    std::int64_t as_of_ms() const { return s_->as_of_ms; }
    bool stale() const { return s_->stale != 0; }

private:
    friend class Client;
    explicit Snapshot(muster_snapshot* s) : s_(s) {}
    std::unique_ptr<muster_snapshot, detail::Deleter<muster_snapshot, muster_snapshot_free>> s_;
};

// Cancels on destruction: the callback never runs after that. Destroyed
// inside its own callback, it cancels once that callback has returned.
class Subscription {
public:
    using Callback = std::function<void(muster_event_type, const Instance&, const char* backend)>;

    Subscription() = default;
    Subscription(Subscription&& other) noexcept
            : callback_(std::move(other.callback_)), sub_(std::exchange(other.sub_, nullptr)) {}
    Subscription& operator=(Subscription&& other) noexcept {
        if (this != &other) {
            cancel();
            callback_ = std::move(other.callback_);
            sub_ = std::exchange(other.sub_, nullptr);
        }
        return *this;
    }
    ~Subscription() { cancel(); }

private:
    friend class Client;
    // An exception cannot cross the C library: one from the callback is
    // dropped here.
    static void trampoline(void* user, uint32_t type, const muster_instance* i, const char* backend) noexcept {
        try {
            (*static_cast<Callback*>(user))(static_cast<muster_event_type>(type), *i, backend);
        } catch (...) {}
    }
    void cancel() noexcept {
        if (!sub_) return;
        if (muster_unsubscribe(sub_) == MUSTER_CONFLICT) {
            // Inside its own callback: another thread waits for the
            // callback to return, then frees both.
            std::thread([sub = sub_, callback = callback_.release()] {
                muster_unsubscribe(sub);
                delete callback;
            }).detach();
        }
        sub_ = nullptr;
        callback_.reset();
    }
    std::unique_ptr<Callback> callback_;
    muster_subscription* sub_ = nullptr;
};

class Call {
public:
    explicit operator bool() const { return call_ != nullptr; }
    const Instance& instance() const { return *muster_call_instance(call_.get()); }
    void success(std::chrono::microseconds took = std::chrono::microseconds(-1)) {
        muster_call_end(call_.release(), MUSTER_CALL_SUCCESS, took.count());
    }
    void failure(std::chrono::microseconds took = std::chrono::microseconds(-1)) {
        muster_call_end(call_.release(), MUSTER_CALL_FAILURE, took.count());
    }

private:
    friend class Picker;
    static void end(muster_call* c) { muster_call_end(c, MUSTER_CALL_NONE, -1); }
    explicit Call(muster_call* c) : call_(c) {}
    std::unique_ptr<muster_call, detail::Deleter<muster_call, end>> call_;
};

class Picker {
public:
    // An empty Call when nothing can be picked (none listed, or all drained).
    Call pick(std::string_view key = {}) {
        muster_call* c = nullptr;
        muster_error err{};
        muster_status s = muster_pick(p_.get(), key.empty() ? nullptr : key.data(), key.size(), &c, &err);
        if (s == MUSTER_NOT_FOUND) return Call(nullptr);
        detail::check(s, err);
        return Call(c);
    }

private:
    friend class Client;
    explicit Picker(muster_picker* p) : p_(p) {}
    std::unique_ptr<muster_picker, detail::Deleter<muster_picker, muster_picker_close>> p_;
};

// Every member has an initializer, so designated initialization may name
// only some ({.role = "querier", .address = "..."}) without a warning.
struct Service {
    std::string role{}, address{}, id{};
    std::map<std::string, std::string> metadata{};
    std::vector<std::string> checks{};      // [check.NAME] names of the configuration
    std::vector<std::string> depends_on{};  // "router" or "router:2"
};

struct PickerOptions {
    std::string policy = "round_robin";
    std::string zone{}, region{};
    double panic_threshold = 0;  // 0: the default (0.5)
};

class Client {
public:
    // Settings by their muster-host command-line names, without "--";
    // `config_path` names a muster-host configuration file.
    explicit Client(const std::vector<std::pair<std::string, std::string>>& settings = {},
                    const std::string& config_path = {}) {
        std::vector<muster_kv> kv;
        for (const auto& [k, v] : settings) kv.push_back({k.c_str(), v.c_str()});
        muster_client_config c{};
        c.struct_size = sizeof c;
        c.config_path = config_path.empty() ? nullptr : config_path.c_str();
        c.settings = kv.data();
        c.settings_count = kv.size();
        muster_client* out = nullptr;
        muster_error err{};
        detail::check(muster_client_open(&c, &out, &err), err);
        c_.reset(out);
    }

    Registration register_instance(const Service& s) {
        auto meta = detail::kvs(s.metadata);
        auto checks = detail::cstrs(s.checks), deps = detail::cstrs(s.depends_on);
        muster_service c{};
        c.struct_size = sizeof c;
        c.role = s.role.c_str();
        c.address = s.address.c_str();
        c.id = s.id.empty() ? nullptr : s.id.c_str();
        c.metadata = meta.data();
        c.metadata_count = meta.size();
        c.checks = checks.data();
        c.checks_count = checks.size();
        c.depends_on = deps.data();
        c.depends_on_count = deps.size();
        muster_registration* out = nullptr;
        muster_error err{};
        detail::check(muster_register(c_.get(), &c, &out, &err), err);
        return Registration(out);
    }

    Snapshot resolve(const std::string& role) {
        muster_snapshot* out = nullptr;
        muster_error err{};
        detail::check(muster_resolve(c_.get(), role.c_str(), &out, &err), err);
        return Snapshot(out);
    }

    // role = nullopt: every role.
    Subscription watch(const std::optional<std::string>& role, Subscription::Callback callback) {
        Subscription s;
        s.callback_ = std::make_unique<Subscription::Callback>(std::move(callback));
        muster_subscription* out = nullptr;
        muster_error err{};
        detail::check(muster_subscribe(c_.get(), role ? role->c_str() : nullptr, &Subscription::trampoline,
                                       s.callback_.get(), &out, &err),
                      err);
        s.sub_ = out;
        return s;
    }

    Picker picker(const std::string& role, const PickerOptions& o = {}) {
        muster_picker_options c{};
        c.struct_size = sizeof c;
        c.policy = o.policy.c_str();
        c.zone = o.zone.empty() ? nullptr : o.zone.c_str();
        c.region = o.region.empty() ? nullptr : o.region.c_str();
        c.panic_threshold = o.panic_threshold;
        muster_picker* out = nullptr;
        muster_error err{};
        detail::check(muster_picker_open(c_.get(), role.c_str(), &c, &out, &err), err);
        return Picker(out);
    }

private:
    std::unique_ptr<muster_client, detail::Deleter<muster_client, muster_client_close>> c_;
};

}  // namespace muster::client
