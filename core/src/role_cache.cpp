#include <muster/core/drain_mark.hpp>
#include <muster/core/role_cache.hpp>
#include <muster/cpp/clock.hpp>

#include <muster/core/log.hpp>

#include <algorithm>
#include <atomic>
#include <utility>

namespace muster::core {

bool RoleSnapshot::any_eligible() const {
    std::int8_t memo = any_eligible_.load(std::memory_order_relaxed);
    if (memo < 0) {
        memo = std::any_of(instances.begin(), instances.end(),
                           [](const sdk::Instance& i) { return i.health == MUSTER_HEALTH_PASSING && !drained(i); });
        any_eligible_.store(memo, std::memory_order_relaxed);  // racing threads store the same
    }
    return memo != 0;
}

RoleCache::RoleCache(std::optional<std::string> role, MassRemovalGuard guard) : role_(std::move(role)), guard_(guard) {}

std::string RoleCache::role_name() const { return role_ ? *role_ : "every role"; }

void RoleCache::store(std::shared_ptr<const RoleSnapshot> next) {
    static std::atomic<std::uint64_t> versions{0};
    current_.store(std::move(next), std::memory_order_release);
    version_.store(versions.fetch_add(1) + 1, std::memory_order_release);
}

void RoleCache::publish(std::vector<sdk::Instance> instances, const std::string& backend, std::int64_t now_ms) {
    {
        std::lock_guard lk(delivery_mu_);
        publish_locked(std::move(instances), backend, now_ms);
    }
    deliver();
}

std::uint64_t RoleCache::poll_ticket() {
    std::lock_guard lk(delivery_mu_);
    return publishes_;
}

bool RoleCache::publish_polled(std::uint64_t ticket, std::vector<sdk::Instance> instances, const std::string& backend,
                               std::int64_t now_ms) {
    {
        std::lock_guard lk(delivery_mu_);
        if (ticket != publishes_) return false;
        publish_locked(std::move(instances), backend, now_ms);
    }
    deliver();
    return true;
}

namespace {

// One sequence for every cache, so an index never repeats across roles.
std::uint64_t next_index() {
    static std::atomic<std::uint64_t> changes{0};
    return changes.fetch_add(1) + 1;
}

// Where `id` is, or would go, in a list in id order.
std::vector<InstanceList::Item>::const_iterator position(const std::vector<InstanceList::Item>& items,
                                                         const std::string& id) {
    return std::lower_bound(items.begin(), items.end(), id,
                            [](const InstanceList::Item& i, const std::string& key) { return i->id < key; });
}

}  // namespace

void RoleCache::publish_locked(std::vector<sdk::Instance> instances, const std::string& backend, std::int64_t now_ms) {
    std::vector<InstanceList::Item> items;
    items.reserve(instances.size());
    for (auto& i : instances) items.push_back(std::make_shared<const sdk::Instance>(std::move(i)));
    publish_items_locked(std::move(items), backend, now_ms);
}

void RoleCache::publish_items_locked(std::vector<InstanceList::Item> items, const std::string& backend,
                                     std::int64_t now_ms) {
    ++publishes_;
    auto prev = current_.load(std::memory_order_acquire);
    std::map<std::string, InstanceList::Item> listed;
    for (auto& i : items) listed.emplace(i->id, std::move(i));
    // What the answer lists again is no longer held.
    std::erase_if(held_, [&](const auto& entry) { return listed.count(entry.first) != 0; });
    if (held_.empty()) contradiction_logged_ = false;
    std::erase_if(ours_, [&](const auto& entry) { return now_ms - entry.second > guard_.window_ms; });

    // Removals the store explains go at once; the others are held until no
    // backend lists them (verify_held).
    bool guarded = guard_.fraction < 1.0;
    std::map<std::string, std::size_t> before, vanished;  // per role
    bool first = held_.empty();
    if (prev)
        for (const auto& i : prev->instances) {
            ++before[i.role];
            if (listed.count(i.id) || held_.count(i.id)) continue;
            if (!guarded || ours_.count(i.id) || stopped_.count(i.id)) continue;
            held_.emplace(i.id, i);
            ++vanished[i.role];
        }
    stopped_.clear();
    for (const auto& [role, n] : vanished) {
        // A mass removal says so once per episode; a single expiry (a
        // process killed) is routine.
        bool mass = static_cast<double>(n) > guard_.fraction * static_cast<double>(before[role]);
        if (mass && first)
            muster::core::log::info(
                "{}: {} no longer lists {} of the {} instances it had, without a stop; holding them until no "
                "backend lists them (removal guard)",
                role, backend.empty() ? "the chain" : backend, n, before[role]);
        else
            muster::core::log::debug(
                "{}: {} instance(s) vanished from {} without a stop; held until no backend lists them", role, n,
                backend.empty() ? "the chain" : backend);
    }

    auto next = std::make_shared<RoleSnapshot>();
    next->role = role_;
    next->backend = backend;
    next->as_of_ms = now_ms;
    next->held = held_.size();
    for (const auto& [id, i] : held_) listed.emplace(id, std::make_shared<const sdk::Instance>(i));
    next->instances.reserve(listed.size());
    for (auto& [id, i] : listed) next->instances.push_back(std::move(i));
    store_and_tell(std::move(next));
}

void RoleCache::publish_change(const std::string& id, InstanceList::Item now, bool explained,
                               const std::string& backend, std::int64_t now_ms) {
    {
        std::lock_guard lk(delivery_mu_);
        ++publishes_;  // a poll that read before this must not publish over it
        std::erase_if(ours_, [&](const auto& entry) { return now_ms - entry.second > guard_.window_ms; });
        auto prev = current_.load(std::memory_order_acquire);
        static const std::vector<InstanceList::Item> none;
        const auto& items = prev ? prev->instances.items() : none;
        auto at = position(items, id);
        bool listed = at != items.end() && (*at)->id == id;
        auto next = std::make_shared<RoleSnapshot>();
        next->role = role_;
        next->backend = backend;
        next->as_of_ms = now_ms;
        std::optional<TopologyEvent> event;
        auto& out = next->instances.items();
        out.reserve(items.size() + 1);
        out.assign(items.begin(), at);
        if (now) {
            held_.erase(id);  // listed again: no longer held
            if (held_.empty()) contradiction_logged_ = false;
            if (!listed)
                event = TopologyEvent{MUSTER_EVENT_ADDED, *now, backend};
            else if (!(*at)->same_content(*now))
                event = TopologyEvent{MUSTER_EVENT_CHANGED, *now, backend};
            out.push_back(std::move(now));
            out.insert(out.end(), listed ? at + 1 : at, items.end());
        } else {
            if (!listed || held_.count(id)) return;
            bool guarded = guard_.fraction < 1.0;
            if (guarded && !explained && !ours_.count(id)) {
                // Vanished without a stop: held, still listed, until no
                // backend lists it (verify_held).
                muster::core::log::debug("{}: {} vanished from {} without a stop; held until no backend lists it",
                                         role_name(), id, backend);
                held_.emplace(id, **at);
                out.insert(out.end(), at, items.end());
            } else {
                event = TopologyEvent{MUSTER_EVENT_REMOVED, **at, backend};
                out.insert(out.end(), at + 1, items.end());
            }
        }
        next->held = held_.size();
        next->index = !event && prev ? prev->index : next_index();
        store(std::move(next));
        if (event) {
            events_[event->type]++;
            for (auto& [token, sub] : subscribers_) sub->pending.push_back(*event);
        }
    }
    deliver();
}

void RoleCache::note_stopped(const std::string& id, std::int64_t now_ms) {
    std::lock_guard lk(delivery_mu_);
    ours_[id] = now_ms;
}

void RoleCache::store_and_tell(std::shared_ptr<RoleSnapshot> next) {
    auto prev = current_.load(std::memory_order_acquire);
    // Both lists are in id order: one walk finds the differences, removals
    // first then the rest in id order (as sdk::diff orders them). An
    // instance both share is skipped without a look at its content.
    static const std::vector<InstanceList::Item> none;
    const auto& before = prev ? prev->instances.items() : none;
    const auto& after = next->instances.items();
    std::vector<TopologyEvent> events, removed;
    auto b = before.begin();
    for (const auto& item : after) {
        for (; b != before.end() && (*b)->id < item->id; ++b)
            removed.push_back({MUSTER_EVENT_REMOVED, **b, next->backend});
        if (b != before.end() && (*b)->id == item->id) {
            if (*b != item && !(*b)->same_content(*item))
                events.push_back({MUSTER_EVENT_CHANGED, *item, next->backend});
            ++b;
        } else {
            events.push_back({MUSTER_EVENT_ADDED, *item, next->backend});
        }
    }
    for (; b != before.end(); ++b) removed.push_back({MUSTER_EVENT_REMOVED, **b, next->backend});
    events.insert(events.begin(), std::make_move_iterator(removed.begin()), std::make_move_iterator(removed.end()));
    next->index = events.empty() && prev ? prev->index : next_index();
    store(std::move(next));
    for (const auto& ev : events) {
        if (ev.type <= MUSTER_EVENT_REMOVED) events_[ev.type]++;
        for (auto& [token, sub] : subscribers_) sub->pending.push_back(ev);
    }
}

std::uint64_t RoleCache::wake_after(std::uint64_t after, std::function<void()> wake) {
    {
        std::lock_guard lk(delivery_mu_);
        auto snap = current_.load(std::memory_order_acquire);
        if (!snap || snap->index <= after) {
            std::uint64_t token = next_token_++;
            waiters_.emplace(token, Waiter{after, std::move(wake)});
            return token;
        }
    }
    wake();
    return 0;
}

void RoleCache::cancel_wake(std::uint64_t token) {
    std::lock_guard lk(delivery_mu_);
    waiters_.erase(token);
}

void RoleCache::wake_waiters() {
    std::vector<std::function<void()>> due;
    {
        std::lock_guard lk(delivery_mu_);
        if (waiters_.empty()) return;
        auto snap = current_.load(std::memory_order_acquire);
        std::uint64_t index = snap ? snap->index : 0;
        for (auto it = waiters_.begin(); it != waiters_.end();) {
            if (it->second.after >= index) {
                ++it;
                continue;
            }
            due.push_back(std::move(it->second.wake));
            it = waiters_.erase(it);
        }
    }
    for (auto& wake : due) wake();
}

void RoleCache::deliver(const std::shared_ptr<Subscriber>& wait_for) {
    wake_waiters();
    const auto me = std::this_thread::get_id();
    std::unique_lock lk(delivery_mu_);
    while (deliverer_ != std::thread::id{}) {
        if (deliverer_ == me) return;  // a callback up this thread's stack: delivered after it returns
        auto waited = std::find_if(subscribers_.begin(), subscribers_.end(),
                                   [&](const auto& entry) { return entry.second == wait_for; });
        if (!wait_for || waited == subscribers_.end() || (wait_for->pending.empty() && calling_ != waited->first))
            return;  // the other thread delivers what is pending
        delivered_.wait(lk);
    }
    deliverer_ = me;
    for (;;) {
        auto next = std::find_if(subscribers_.begin(), subscribers_.end(),
                                 [](const auto& entry) { return !entry.second->pending.empty(); });
        if (next == subscribers_.end()) break;
        std::shared_ptr<Subscriber> sub = next->second;  // kept: it may unsubscribe in its callback
        TopologyEvent ev = std::move(sub->pending.front());
        sub->pending.pop_front();
        calling_ = next->first;
        lk.unlock();
        try {
            sub->callback(ev);
        } catch (const std::exception& e) {
            muster::core::log::error("{}: a topology callback threw: {}", role_name(), e.what());
        } catch (...) {
            muster::core::log::error("{}: a topology callback threw", role_name());
        }
        lk.lock();
        calling_ = 0;
        delivered_.notify_all();
    }
    deliverer_ = {};
    delivered_.notify_all();
}

std::vector<std::string> RoleCache::held_ids() const {
    std::lock_guard lk(delivery_mu_);
    std::vector<std::string> ids;
    for (const auto& [id, i] : held_) ids.push_back(id);
    return ids;
}

void RoleCache::verify_held(const std::set<std::string>& live) {
    {
        std::lock_guard lk(delivery_mu_);
        verify_held_locked(live);
    }
    deliver();
}

void RoleCache::verify_held_locked(const std::set<std::string>& live) {
    std::set<std::string> gone;
    for (const auto& [id, i] : held_)
        if (!live.count(id)) gone.insert(id);
    if (gone.size() < held_.size() && !contradiction_logged_) {
        contradiction_logged_ = true;  // once per episode
        muster::core::log::warn(
            "{}: keeping {} instance(s) one answer dropped while another backend still lists them live "
            "(removal guard)",
            role_name(), held_.size() - gone.size());
    }
    if (gone.empty()) return;
    for (const auto& id : gone) held_.erase(id);
    if (held_.empty()) contradiction_logged_ = false;
    auto next = std::make_shared<RoleSnapshot>(*current_.load(std::memory_order_acquire));
    std::erase_if(next->instances.items(), [&](const InstanceList::Item& i) { return gone.count(i->id) != 0; });
    next->held = held_.size();
    muster::core::log::info("{}: {} held instance(s) are listed by no backend any more; removed", role_name(),
                            gone.size());
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
    prev->as_of_ms.store(now_ms);  // in place: readers see the age move, nothing is copied
}

std::uint64_t RoleCache::subscribe(TopologyCallback callback, std::shared_ptr<const RoleSnapshot>* start) {
    auto sub = std::make_shared<Subscriber>();
    sub->callback = std::move(callback);
    std::uint64_t token = 0;
    {
        std::lock_guard lk(delivery_mu_);
        auto snap = current_.load(std::memory_order_acquire);
        if (start)
            *start = snap;
        else if (snap)
            for (const auto& i : snap->instances) sub->pending.push_back({MUSTER_EVENT_ADDED, i, snap->backend});
        token = next_token_++;
        subscribers_.emplace(token, sub);
    }
    deliver(sub);
    return token;
}

void RoleCache::unsubscribe(std::uint64_t token) {
    std::unique_lock lk(delivery_mu_);
    if (!subscribers_.erase(token)) return;
    // A call in progress on another thread ends first; on this thread it is
    // the caller itself.
    if (deliverer_ != std::this_thread::get_id()) delivered_.wait(lk, [&] { return calling_ != token; });
}

void RoleCache::stop_watch() {
    std::lock_guard lk(watch_mu_);
    retired_ = true;
    watching_ = false;
    watch_.reset();
    watch_backend_.reset();  // a dropped cache a reader still holds keeps no backend
}

std::size_t RoleCache::subscribers() const {
    std::lock_guard lk(delivery_mu_);
    return subscribers_.size();
}

void RoleCache::follow(const std::shared_ptr<BackendClient>& source, WatchError on_error) {
    std::lock_guard lk(watch_mu_);
    if (retired_ || (source == watch_backend_ && watch_)) return;
    watching_ = false;
    watch_.reset();
    watch_backend_ = source;
    if (!source) {
        watch_failed_ = true;  // poll through the chain meanwhile
        return;
    }
    begin_resync();
    std::weak_ptr<RoleCache> weak = weak_from_this();
    const BackendClient* from = source.get();
    std::string name = source->name();
    Outcome o = source->watch(
        role_ ? &*role_ : nullptr,
        [weak, from, name, on_error](const BackendEvent& ev) {
            auto self = weak.lock();
            if (!self) return;
            if (ev.type == MUSTER_EVENT_ERROR) on_error(*from, ev.message);
            self->apply(ev, name, sdk::system_ms());
        },
        watch_);
    watching_ = watch_ != nullptr;
    if (!o.ok()) {
        muster::core::log::warn("cannot watch {} on {} ({}); polling instead", role_name(), name, o.message);
        watch_failed_ = true;
    } else if (watches_started_++ > 0) {
        muster::core::log::info("watch of {} moved to {}", role_name(), name);
    }
}

void RoleCache::begin_resync() {
    std::lock_guard lk(delivery_mu_);
    working_.clear();
    synced_ = false;
    // The new watch is trusted until it reports ERROR: no poll publishes
    // over its resync meanwhile (the old snapshot is served until SYNCED).
    watch_failed_ = false;
}

void RoleCache::apply(const BackendEvent& ev, const std::string& backend, std::int64_t now_ms) {
    // Once synced, each change goes out by itself (publish_change) and the
    // snapshot is the only copy; the initial state, or a resync after an
    // ERROR, is gathered in working_ first.
    const bool steady = synced_ && !watch_failed_;
    switch (ev.type) {
    case MUSTER_EVENT_ADDED:
    case MUSTER_EVENT_CHANGED:
        if (ev.instance) {
            auto item = std::make_shared<const sdk::Instance>(*ev.instance);
            if (steady)
                publish_change(ev.instance->id, std::move(item), false, backend, now_ms);
            else
                working_[item->id] = std::move(item);
        }
        return;
    case MUSTER_EVENT_REMOVED:
        if (ev.instance) {
            bool stop = ev.instance->stopped_at_ms != 0;  // a graceful stop: not held
            if (steady) {
                publish_change(ev.instance->id, nullptr, stop, backend, now_ms);
                return;
            }
            working_.erase(ev.instance->id);
            if (stop) {
                std::lock_guard lk(delivery_mu_);
                stopped_.insert(ev.instance->id);
            }
        }
        return;
    case MUSTER_EVENT_SYNCED:
        synced_ = true;
        watch_failed_ = false;  // the poller stops; this resync takes over
        break;
    case MUSTER_EVENT_ERROR:
        // The watch's resync will be differences from what it told so far,
        // which is the snapshot but for what the guard holds.
        if (steady) {
            std::lock_guard lk(delivery_mu_);
            if (auto snap = current_.load(std::memory_order_acquire))
                for (const auto& item : snap->instances.items())
                    if (!held_.count(item->id)) working_.emplace(item->id, item);
        }
        watch_failed_ = true;  // the chain is polled until the watch resyncs
        mark_stale(now_ms);
        return;
    case MUSTER_EVENT_TERMINATED:
        watch_failed_ = true;  // the poller takes over
        return;
    }
    // SYNCED: the initial state (or a resync after an ERROR) is published
    // as one.
    std::vector<InstanceList::Item> all;
    all.reserve(working_.size());
    for (const auto& [id, i] : working_) all.push_back(i);
    working_.clear();
    {
        std::lock_guard lk(delivery_mu_);
        publish_items_locked(std::move(all), backend, now_ms);
    }
    deliver();
}

}  // namespace muster::core
