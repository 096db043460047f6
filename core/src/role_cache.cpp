#include <muster/core/role_cache.hpp>

namespace muster::core {

RoleCache::RoleCache(std::optional<std::string> role) : role_(std::move(role)) {}

void RoleCache::store(std::shared_ptr<const RoleSnapshot> next) {
    static std::atomic<std::uint64_t> versions{0};
    current_.store(std::move(next), std::memory_order_release);
    version_.store(versions.fetch_add(1) + 1, std::memory_order_release);
}

void RoleCache::publish(std::vector<sdk::Instance> instances, const std::string& backend, std::int64_t now_ms) {
    std::lock_guard lk(delivery_mu_);
    publish_locked(std::move(instances), backend, now_ms);
}

std::uint64_t RoleCache::poll_ticket() {
    std::lock_guard lk(delivery_mu_);
    return publishes_;
}

bool RoleCache::publish_polled(std::uint64_t ticket, std::vector<sdk::Instance> instances, const std::string& backend,
                               std::int64_t now_ms) {
    std::lock_guard lk(delivery_mu_);
    if (ticket != publishes_) return false;
    publish_locked(std::move(instances), backend, now_ms);
    return true;
}

void RoleCache::publish_locked(std::vector<sdk::Instance> instances, const std::string& backend, std::int64_t now_ms) {
    ++publishes_;
    auto next = std::make_shared<RoleSnapshot>();
    next->role = role_;
    next->instances = std::move(instances);
    next->backend = backend;
    next->as_of_ms = now_ms;
    auto prev = current_.load(std::memory_order_acquire);
    sdk::Snapshot before, after;
    if (prev)
        for (const auto& i : prev->instances) before.emplace(i.id, i);
    for (const auto& i : next->instances) after.emplace(i.id, i);
    store(next);
    sdk::diff(before, after, [&](muster_event_type t, const sdk::Instance& i) {
        TopologyEvent ev{t, i, backend};
        for (auto& [token, cb] : subscribers_) cb(ev);
    });
}

void RoleCache::mark_stale(std::int64_t /*now_ms*/) {
    std::lock_guard lk(delivery_mu_);
    auto prev = current_.load(std::memory_order_acquire);
    if (!prev || prev->stale) return;
    auto next = std::make_shared<RoleSnapshot>(*prev);
    next->stale = true;
    store(next);
}

void RoleCache::confirm(std::int64_t now_ms) {
    std::lock_guard lk(delivery_mu_);
    auto prev = current_.load(std::memory_order_acquire);
    if (!prev || prev->stale || now_ms - prev->as_of_ms < 1000) return;
    auto next = std::make_shared<RoleSnapshot>(*prev);
    next->as_of_ms = now_ms;
    store(next);
}

std::uint64_t RoleCache::subscribe(TopologyCallback callback) {
    std::lock_guard lk(delivery_mu_);
    if (auto snap = current_.load(std::memory_order_acquire))
        for (const auto& i : snap->instances) callback(TopologyEvent{MUSTER_EVENT_ADDED, i, snap->backend});
    std::uint64_t token = next_token_++;
    subscribers_.emplace(token, std::move(callback));
    return token;
}

void RoleCache::unsubscribe(std::uint64_t token) {
    std::lock_guard lk(delivery_mu_);
    subscribers_.erase(token);
}

void RoleCache::begin_resync() {
    std::lock_guard lk(delivery_mu_);
    working_.clear();
    synced_ = false;
}

void RoleCache::apply(const BackendEvent& ev, const std::string& backend, std::int64_t now_ms) {
    switch (ev.type) {
    case MUSTER_EVENT_ADDED:
    case MUSTER_EVENT_CHANGED:
        if (ev.instance) working_[ev.instance->id] = *ev.instance;
        break;
    case MUSTER_EVENT_REMOVED:
        if (ev.instance) working_.erase(ev.instance->id);
        break;
    case MUSTER_EVENT_SYNCED:
        synced_ = true;
        watch_failed = false;  // the poller stops; this resync takes over
        break;
    case MUSTER_EVENT_ERROR:
        watch_failed = true;  // the chain is polled until the watch resyncs
        mark_stale(now_ms);
        return;
    case MUSTER_EVENT_TERMINATED:
        watch_failed = true;  // the poller takes over
        return;
    }
    // The initial state (or a resync after an ERROR) arrives as
    // ADDED/CHANGED/REMOVED..., then SYNCED: published as one.
    if (!synced_ || watch_failed) return;
    std::vector<sdk::Instance> all;
    all.reserve(working_.size());
    for (const auto& [id, i] : working_) all.push_back(i);
    publish(std::move(all), backend, now_ms);
}

}  // namespace muster::core
