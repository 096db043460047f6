#include <muster/core/backend_client.hpp>
#include <muster/core/call_progress.hpp>
#include <muster/core/host_services.hpp>
#include <muster/cpp/error.hpp>

namespace muster::core {

struct BackendWatch::Sink {
    std::function<void(const BackendEvent&)> callback;
    static void deliver(void* user, const muster_watch_event* ev) {
        auto* self = static_cast<Sink*>(user);
        if (!ev) return;
        BackendEvent out{static_cast<muster_event_type>(ev->type), std::nullopt, static_cast<muster_status>(ev->status),
                         ev->message ? HostServices::instance().redact(ev->message) : std::string()};
        if (ev->instance) out.instance = sdk::from_c(*ev->instance);
        try {
            self->callback(out);
        } catch (...) {
            // An exception must not unwind into the plugin's thread.
        }
    }
};

BackendWatch::BackendWatch(std::shared_ptr<BackendClient> owner, muster_watch* w, std::unique_ptr<Sink> sink)
        : owner_(std::move(owner)), watch_(w), sink_(std::move(sink)) {}

BackendWatch::~BackendWatch() {
    // After unwatch returns the plugin never calls the sink again, so the
    // sink may go (rule W3). A watch exists only on a created backend.
    owner_->vt_->unwatch(owner_->backend_.load(std::memory_order_acquire), watch_);
}

std::shared_ptr<BackendClient> BackendClient::prepare(std::shared_ptr<const LoadedPlugin> plugin,
                                                      const std::vector<std::pair<std::string, std::string>>& options,
                                                      std::int64_t ttl_ms) {
    if (!plugin->backend)
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, "plugin '" + plugin->name() + "' provides no backend");
    return std::shared_ptr<BackendClient>(new BackendClient(std::move(plugin), options, ttl_ms));
}

std::shared_ptr<BackendClient> BackendClient::create(std::shared_ptr<const LoadedPlugin> plugin,
                                                     const std::vector<std::pair<std::string, std::string>>& options,
                                                     std::int64_t ttl_ms) {
    auto client = prepare(std::move(plugin), options, ttl_ms);
    if (Outcome o = client->open(); !o.ok()) throw sdk::Error(o.status, o.message);
    return client;
}

BackendClient::BackendClient(std::shared_ptr<const LoadedPlugin> plugin,
                             const std::vector<std::pair<std::string, std::string>>& options, std::int64_t ttl_ms)
        : plugin_(std::move(plugin)),
          vt_(plugin_->backend),
          name_(vt_->name),
          config_(vt_->options, vt_->option_count, options, "backend " + name_),
          ttl_ms_(ttl_ms) {}

BackendClient::~BackendClient() {
    if (muster_backend* b = backend_.load()) vt_->destroy(b);
}

Outcome BackendClient::open() {
    if (created()) return {};
    std::lock_guard lk(open_mu_);
    if (created()) return {};
    muster_backend_config cfg{sizeof cfg, 0, HostServices::instance().table(), config_.data(), config_.size(), ttl_ms_};
    muster_backend* b = nullptr;
    muster_error err{};
    muster_status st = vt_->create(&cfg, &b, &err);
    if (st != MUSTER_OK || !b) {
        if (st == MUSTER_OK) st = MUSTER_INTERNAL;  // OK without a backend: a plugin bug
        return {st, "backend " + name_ + ": " + plugin_message(err, muster_status_name(st))};
    }
    backend_.store(b, std::memory_order_release);
    return {};
}

muster_backend* BackendClient::backend(Outcome& why) {
    if (muster_backend* b = backend_.load(std::memory_order_acquire)) return b;
    why = open();
    return why.ok() ? backend_.load(std::memory_order_acquire) : nullptr;
}

Outcome BackendClient::outcome(muster_status st, const muster_error& err) const {
    if (st == MUSTER_OK) return {};
    // A status outside the enum is a plugin bug; treat it as internal.
    if (st < MUSTER_OK || st > MUSTER_INTERNAL) st = MUSTER_INTERNAL;
    return {st, plugin_message(err, muster_status_name(st))};
}

bool BackendClient::holds_role(const std::string* role) const {
    if (!role || vt_->struct_size < MUSTER_SIZE_THROUGH(muster_backend_v1, holds_role) || !vt_->holds_role) return true;
    muster_backend* b = backend_.load(std::memory_order_acquire);
    return !b || vt_->holds_role(b, role->c_str()) != 0;
}

Outcome BackendClient::register_instance(const sdk::Instance& instance) {
    Outcome why;
    muster_backend* b = backend(why);
    if (!b) return why;
    sdk::CView view(instance);
    muster_error err{};
    return outcome(vt_->register_instance(b, view.get(), &err), err);
}

Outcome BackendClient::heartbeat(const std::vector<std::string>& ids, std::vector<muster_status>& results) {
    std::vector<const char*> raw;
    raw.reserve(ids.size());
    for (const auto& id : ids) raw.push_back(id.c_str());
    results.assign(ids.size(), MUSTER_INTERNAL);
    Outcome why;
    muster_backend* b = backend(why);
    if (!b) return why;
    muster_error err{};
    return outcome(vt_->heartbeat(b, raw.data(), raw.size(), results.data(), &err), err);
}

Outcome BackendClient::deregister(const std::string& id) {
    Outcome why;
    muster_backend* b = backend(why);
    if (!b) return why;
    muster_error err{};
    return outcome(vt_->deregister(b, id.c_str(), &err), err);
}

Outcome BackendClient::list(const std::string* role, std::uint32_t flags, std::vector<sdk::Instance>& out) {
    out.clear();
    Outcome why;
    muster_backend* b = backend(why);
    if (!b) return why;
    muster_error err{};
    auto sink = [](void* user, const muster_instance* i) -> int {
        // A big answer arriving is no hung store; one nobody waits for any
        // more stops here, so the link's next call need not queue behind it.
        if (!note_call_progress()) return 1;
        if (i && i->id && i->role && i->address)
            static_cast<std::vector<sdk::Instance>*>(user)->push_back(sdk::from_c(*i));
        return 0;
    };
    return outcome(vt_->list(b, role ? role->c_str() : nullptr, flags, sink, &out, &err), err);
}

Outcome BackendClient::reap(std::int64_t retain_ms, std::uint64_t& removed) {
    removed = 0;
    if (!can(MUSTER_BACKEND_CAP_REAP)) return {MUSTER_UNSUPPORTED, name_ + " does not reap"};
    Outcome why;
    muster_backend* b = backend(why);
    if (!b) return why;
    muster_error err{};
    return outcome(vt_->reap(b, retain_ms, &removed, &err), err);
}

Outcome BackendClient::watch(const std::string* role, std::function<void(const BackendEvent&)> callback,
                             std::unique_ptr<BackendWatch>& out) {
    if (!can(MUSTER_BACKEND_CAP_WATCH)) return {MUSTER_UNSUPPORTED, name_ + " does not watch"};
    Outcome why;
    muster_backend* b = backend(why);
    if (!b) return why;
    auto sink = std::make_unique<BackendWatch::Sink>();
    sink->callback = std::move(callback);
    muster_watch* w = nullptr;
    muster_error err{};
    muster_status st =
        vt_->watch(b, role ? role->c_str() : nullptr, &BackendWatch::Sink::deliver, sink.get(), &w, &err);
    if (st != MUSTER_OK || !w) return outcome(st == MUSTER_OK ? MUSTER_INTERNAL : st, err);
    out.reset(new BackendWatch(shared_from_this(), w, std::move(sink)));
    return {};
}

}  // namespace muster::core
