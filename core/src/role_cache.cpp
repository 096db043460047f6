#include <muster/core/role_cache.hpp>

#include <spdlog/spdlog.h>

#include <utility>

namespace muster::core {

RoleCache::RoleCache(std::optional<std::string> role, MassRemovalGuard guard) : role_(std::move(role)), guard_(guard) {}

std::string RoleCache::role_name() const { return role_ ? *role_ : "every role"; }

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

void RoleCache::publish_locked(std::vector<sdk::Instance> instances, const std::string& backend, std::int64_t now_ms,
                               bool hold_removals) {
    ++publishes_;
    auto prev = current_.load(std::memory_order_acquire);
    sdk::Snapshot listed;
    for (auto& i : instances) listed.emplace(i.id, std::move(i));
    // What the answer lists again is no longer held.
    std::erase_if(held_, [&](const auto& entry) { return listed.count(entry.first) != 0; });
    if (held_.empty()) contradiction_logged_ = false;

    // The guard's window: its base is the most instances listed during it.
    // Churn (one in, one out) never trips it; a role falling below
    // (1 - fraction) of its base on one answer does.
    std::size_t before = prev ? prev->instances.size() : 0;
    if (now_ms - window_start_ms_ > guard_.window_ms) {
        window_start_ms_ = now_ms;
        window_base_ = before;
    }
    window_base_ = std::max(window_base_, before);
    std::vector<const sdk::Instance*> removed;
    if (prev)
        for (const auto& i : prev->instances)
            if (!listed.count(i.id) && !held_.count(i.id)) removed.push_back(&i);
    auto may_lose = static_cast<std::size_t>(guard_.fraction * static_cast<double>(window_base_));
    bool guarded = guard_.fraction < 1.0 && window_base_ >= guard_.min_instances;
    // Held removals are logged at info here; the warning comes only if the
    // other backends contradict them (verify_held), so a genuine mass stop
    // does not raise an alarm.
    if (hold_removals && !removed.empty()) {
        for (const auto* i : removed) held_.emplace(i->id, *i);
        spdlog::info("{}: the resync from {} lacks {} instance(s) the cache had; held until no backend lists them",
                     role_name(), backend, removed.size());
    } else if (guarded && !removed.empty() && listed.size() + held_.size() < window_base_ - may_lose) {
        bool first = held_.empty();  // one line per episode, not per event
        for (const auto* i : removed) held_.emplace(i->id, *i);
        if (first)
            spdlog::info("{}: {} lists {} of the {} instances it had; holding the rest until the backends are asked "
                         "(mass-removal guard)",
                         role_name(), backend.empty() ? "the chain" : backend, listed.size(), window_base_);
    }

    auto next = std::make_shared<RoleSnapshot>();
    next->role = role_;
    next->backend = backend;
    next->as_of_ms = now_ms;
    next->held = held_.size();
    listed.insert(held_.begin(), held_.end());
    next->instances.reserve(listed.size());
    for (auto& [id, i] : listed) next->instances.push_back(std::move(i));
    store_and_tell(std::move(next));
}

void RoleCache::store_and_tell(std::shared_ptr<RoleSnapshot> next) {
    auto prev = current_.load(std::memory_order_acquire);
    sdk::Snapshot before, after;
    if (prev)
        for (const auto& i : prev->instances) before.emplace(i.id, i);
    for (const auto& i : next->instances) after.emplace(i.id, i);
    std::string backend = next->backend;
    store(std::move(next));
    sdk::diff(before, after, [&](muster_event_type t, const sdk::Instance& i) {
        TopologyEvent ev{t, i, backend};
        for (auto& [token, cb] : subscribers_) cb(ev);
    });
}

std::vector<std::string> RoleCache::held_ids() const {
    std::lock_guard lk(delivery_mu_);
    std::vector<std::string> ids;
    for (const auto& [id, i] : held_) ids.push_back(id);
    return ids;
}

void RoleCache::verify_held(const std::set<std::string>& live) {
    std::lock_guard lk(delivery_mu_);
    std::set<std::string> gone;
    for (const auto& [id, i] : held_)
        if (!live.count(id)) gone.insert(id);
    if (gone.size() < held_.size() && !contradiction_logged_) {
        contradiction_logged_ = true;  // once per episode
        spdlog::warn("{}: keeping {} instance(s) one answer dropped while another backend still lists them live "
                     "(mass-removal guard)",
                     role_name(), held_.size() - gone.size());
    }
    if (gone.empty()) return;
    for (const auto& id : gone) held_.erase(id);
    if (held_.empty()) contradiction_logged_ = false;
    auto next = std::make_shared<RoleSnapshot>(*current_.load(std::memory_order_acquire));
    std::erase_if(next->instances, [&](const sdk::Instance& i) { return gone.count(i.id) != 0; });
    next->held = held_.size();
    spdlog::info("{}: {} held instance(s) are listed by no backend any more; removed", role_name(), gone.size());
    store_and_tell(std::move(next));
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
    hold_resync_removals_ = current_.load(std::memory_order_acquire) != nullptr;
    working_.clear();
    synced_ = false;
    // The new watch is trusted until it reports ERROR: no poll publishes
    // over its resync meanwhile (the old snapshot is served until SYNCED).
    watch_failed = false;
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
    std::lock_guard lk(delivery_mu_);
    bool first_of_new_watch = ev.type == MUSTER_EVENT_SYNCED && std::exchange(hold_resync_removals_, false);
    publish_locked(std::move(all), backend, now_ms, first_of_new_watch);
}

}  // namespace muster::core
