#include <muster/core/backend_client.hpp>
#include <muster/core/host_services.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/options.hpp>

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
    // sink may go (rule W3).
    owner_->vt_->unwatch(owner_->backend_, watch_);
}

std::shared_ptr<BackendClient> BackendClient::create(std::shared_ptr<const LoadedPlugin> plugin,
                                                     const std::vector<std::pair<std::string, std::string>>& options,
                                                     std::int64_t ttl_ms) {
    const muster_backend_v1* vt = plugin->backend;
    if (!vt) throw sdk::Error(MUSTER_INVALID_ARGUMENT, "plugin '" + plugin->name() + "' provides no backend");
    std::map<std::string, std::string> values;
    if (auto problem = sdk::check_options(vt->options, vt->option_count, options, values); !problem.empty())
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, "backend " + std::string(vt->name) + ": " + problem);
    for (std::size_t i = 0; i < vt->option_count; ++i)
        if (vt->options[i].flags & MUSTER_OPT_SECRET)
            if (auto it = values.find(vt->options[i].name); it != values.end())
                HostServices::instance().add_secret(it->second);
    std::vector<muster_option> c_options;
    for (const auto& [k, v] : values) c_options.push_back({k.c_str(), v.c_str()});
    muster_backend_config cfg{sizeof cfg, 0, HostServices::instance().table(), c_options.data(), c_options.size(), ttl_ms};
    muster_backend* b = nullptr;
    muster_error err{};
    muster_status st = vt->create(&cfg, &b, &err);
    if (st != MUSTER_OK || !b)
        throw sdk::Error(st == MUSTER_OK ? MUSTER_INTERNAL : st,
                         "backend " + std::string(vt->name) + ": " + HostServices::instance().redact(err.message));
    return std::shared_ptr<BackendClient>(new BackendClient(std::move(plugin), b));
}

BackendClient::BackendClient(std::shared_ptr<const LoadedPlugin> plugin, muster_backend* b)
    : plugin_(std::move(plugin)), vt_(plugin_->backend), backend_(b), name_(vt_->name) {}

BackendClient::~BackendClient() { vt_->destroy(backend_); }

Outcome BackendClient::outcome(muster_status st, const muster_error& err) const {
    if (st == MUSTER_OK) return {};
    // A status outside the enum is a plugin bug; treat it as internal.
    if (st < MUSTER_OK || st > MUSTER_INTERNAL) st = MUSTER_INTERNAL;
    std::string msg(err.message, strnlen(err.message, sizeof err.message));
    return {st, HostServices::instance().redact(msg.empty() ? muster_status_name(st) : msg)};
}

Outcome BackendClient::register_instance(const sdk::Instance& instance) {
    sdk::CView view(instance);
    muster_error err{};
    return outcome(vt_->register_instance(backend_, view.get(), &err), err);
}

Outcome BackendClient::heartbeat(const std::vector<std::string>& ids, std::vector<muster_status>& results) {
    std::vector<const char*> raw;
    raw.reserve(ids.size());
    for (const auto& id : ids) raw.push_back(id.c_str());
    results.assign(ids.size(), MUSTER_INTERNAL);
    muster_error err{};
    return outcome(vt_->heartbeat(backend_, raw.data(), raw.size(), results.data(), &err), err);
}

Outcome BackendClient::deregister(const std::string& id) {
    muster_error err{};
    return outcome(vt_->deregister(backend_, id.c_str(), &err), err);
}

Outcome BackendClient::list(const std::string* role, std::uint32_t flags, std::vector<sdk::Instance>& out) {
    out.clear();
    muster_error err{};
    auto sink = [](void* user, const muster_instance* i) -> int {
        if (i && i->id && i->role && i->address) static_cast<std::vector<sdk::Instance>*>(user)->push_back(sdk::from_c(*i));
        return 0;
    };
    return outcome(vt_->list(backend_, role ? role->c_str() : nullptr, flags, sink, &out, &err), err);
}

Outcome BackendClient::reap(std::int64_t retain_ms, std::uint64_t& removed) {
    removed = 0;
    if (!can(MUSTER_BACKEND_CAP_REAP)) return {MUSTER_UNSUPPORTED, name_ + " does not reap"};
    muster_error err{};
    return outcome(vt_->reap(backend_, retain_ms, &removed, &err), err);
}

Outcome BackendClient::watch(const std::string* role, std::function<void(const BackendEvent&)> callback,
                             std::unique_ptr<BackendWatch>& out) {
    if (!can(MUSTER_BACKEND_CAP_WATCH)) return {MUSTER_UNSUPPORTED, name_ + " does not watch"};
    auto sink = std::make_unique<BackendWatch::Sink>();
    sink->callback = std::move(callback);
    muster_watch* w = nullptr;
    muster_error err{};
    muster_status st = vt_->watch(backend_, role ? role->c_str() : nullptr, &BackendWatch::Sink::deliver, sink.get(), &w, &err);
    if (st != MUSTER_OK || !w) return outcome(st == MUSTER_OK ? MUSTER_INTERNAL : st, err);
    out.reset(new BackendWatch(shared_from_this(), w, std::move(sink)));
    return {};
}

}  // namespace muster::core
