#include <muster/core/cache_set.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/error.hpp>

#include <muster/core/log.hpp>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <tuple>

namespace muster::core {

namespace {

// The key of the every-role cache: not a valid role name, so no clash.
const std::string kAllRoles = "*";

// Each reader thread remembers the last snapshot it took of a few caches, so
// that the common case (nothing changed) costs one atomic load and a
// reference count, not a load of the atomic shared_ptr.
struct Remembered {
    const RoleCache* cache = nullptr;
    std::uint64_t version = 0;
    std::shared_ptr<const RoleSnapshot> snapshot;
};
thread_local std::array<Remembered, 8> thread_remembered;

// Unique across every set of the process, so a thread's view of a set that
// is gone never matches a new set at the same address.
std::atomic<std::uint64_t> generations{0};

}  // namespace

std::shared_ptr<const RoleSnapshot> CacheSet::find_every_role() const { return find(kAllRoles); }

CacheSet::CacheSet(std::shared_ptr<Chain> chain, MassRemovalGuard guard, CacheLimits limits)
        : chain_(std::move(chain)), guard_(guard), limits_(std::move(limits)) {
    publish(std::make_shared<const Map>());
}

CacheSet::~CacheSet() { stop(); }

const std::shared_ptr<const CacheSet::Map>& CacheSet::current() const {
    struct View {
        const CacheSet* owner = nullptr;
        std::uint64_t generation = 0;
        std::shared_ptr<const Map> map;
    };
    thread_local std::array<View, 4> views;
    std::uint64_t generation = generation_.load(std::memory_order_acquire);
    View& v = views[(reinterpret_cast<std::uintptr_t>(this) >> 6) % views.size()];
    if (v.owner != this || v.generation != generation) v = {this, generation, map_.load(std::memory_order_acquire)};
    return v.map;
}

void CacheSet::publish(std::shared_ptr<const Map> next) {
    map_.store(std::move(next), std::memory_order_release);
    generation_.store(generations.fetch_add(1) + 1, std::memory_order_release);
}

const std::shared_ptr<const RoleSnapshot>* CacheSet::remembered(const std::string& role) const {
    static const std::shared_ptr<const RoleSnapshot> none;
    const Map& m = *current();
    auto it = m.find(role);
    if (it == m.end()) return &none;
    const RoleCache* cache = it->second.get();
    it->second->used_at(tick_.load(std::memory_order_relaxed));
    std::uint64_t version = cache->version();
    Remembered& r = thread_remembered[(reinterpret_cast<std::uintptr_t>(cache) >> 6) % thread_remembered.size()];
    if (r.cache == cache && r.version == version && r.snapshot) return &r.snapshot;
    auto snap = cache->load();
    if (!snap) return &none;
    r = {cache, version, std::move(snap)};
    return &r.snapshot;
}

const RoleSnapshot* CacheSet::peek(const std::string& role) const { return remembered(role)->get(); }

std::shared_ptr<RoleCache> CacheSet::get(const std::optional<std::string>& role) {
    const std::string& key = role ? *role : kAllRoles;
    std::promise<std::shared_ptr<RoleCache>> made;
    std::shared_future<std::shared_ptr<RoleCache>> waiting;
    {
        std::lock_guard lk(mu_);
        auto m = map_.load(std::memory_order_acquire);
        if (auto it = m->find(key); it != m->end()) {
            it->second->used_at(tick_.load(std::memory_order_relaxed));
            return it->second;
        }
        if (auto l = loading_.find(key); l != loading_.end()) {
            waiting = l->second;
        } else {
            if (role && m->size() - m->count(kAllRoles) + loading_.size() >= limits_.max_roles) {
                auto next = std::make_shared<Map>(*m);
                evict(*next, 1);
                if (next->size() - next->count(kAllRoles) + loading_.size() >= limits_.max_roles)
                    throw sdk::Error(MUSTER_UNAVAILABLE, "cannot cache role '" + key +
                                                             "': " + std::to_string(limits_.max_roles) +
                                                             " roles are cached and in use (max_roles)");
                publish(std::move(next));
            }
            loading_.emplace(key, made.get_future().share());
        }
    }
    if (waiting.valid()) return waiting.get();
    // The first read, outside the lock: a slow store delays only the callers
    // of this role.
    auto cache = std::make_shared<RoleCache>(role, guard_);
    cache->used_at(tick_.load(std::memory_order_relaxed));
    try {
        refresh(*cache);
        if (!cache->load()) {  // no backend answered: an empty answer, marked stale
            cache->publish({}, "", sdk::system_ms());
            cache->mark_stale(sdk::system_ms());
        }
        route_watch(*cache);
    } catch (...) {
        std::lock_guard lk(mu_);
        loading_.erase(key);
        made.set_exception(std::current_exception());
        throw;
    }
    {
        std::lock_guard lk(mu_);
        auto next = std::make_shared<Map>(*map_.load(std::memory_order_acquire));
        next->emplace(key, cache);
        publish(std::move(next));
        loading_.erase(key);
    }
    made.set_value(cache);
    return cache;
}

void CacheSet::evict(Map& map, std::size_t room) {
    std::int64_t now = tick_.load(std::memory_order_relaxed);
    std::set<std::string> held = limits_.held ? limits_.held() : std::set<std::string>{};
    std::vector<std::pair<std::tuple<bool, std::int64_t>, std::string>> candidates;  // (non-empty, last used)
    for (const auto& [key, cache] : map) {
        if (key == kAllRoles || held.count(key) || cache->pinned() || cache->subscribers() > 0) continue;
        auto snapshot = cache->load();
        candidates.push_back({{snapshot && !snapshot->instances.empty(), cache->last_used()}, key});
    }
    // Idle ones go whatever the room; then the least recently used, empty
    // ones (names nobody registered in: what a client makes up) first.
    std::sort(candidates.begin(), candidates.end());
    std::size_t roles = map.size() - map.count(kAllRoles) + loading_.size();
    for (const auto& [rank, key] : candidates) {
        bool idle = now - std::get<1>(rank) >= limits_.idle.count();
        if (!idle && roles + room <= limits_.max_roles) continue;
        auto it = map.find(key);
        retired_.push_back(it->second);
        map.erase(it);
        --roles;
    }
}

std::size_t CacheSet::size() const {
    const Map& m = *current();
    return m.size() - m.count(kAllRoles);
}

void CacheSet::note_stopped(const std::string& role, const std::string& id) {
    auto m = current();
    for (const std::string& key : {role, kAllRoles})
        if (auto c = m->find(key); c != m->end()) c->second->note_stopped(id, sdk::system_ms());
}

void CacheSet::await_listed(const sdk::Instance& inst, std::chrono::milliseconds limit) const {
    auto m = current();
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (const std::string& key : {inst.role, kAllRoles}) {
        auto c = m->find(key);
        if (c == m->end()) continue;
        // Snapshots list instances by id: a lookup, not a scan of the role.
        auto listed = [&](const RoleSnapshot& snap) {
            auto it = std::lower_bound(snap.instances.begin(), snap.instances.end(), inst.id,
                                       [](const sdk::Instance& i, const std::string& id) { return i.id < id; });
            return it != snap.instances.end() && it->id == inst.id;
        };
        // Woken by the cache's next publish (RoleCache::wake_after), not by a timer.
        struct Wake {
            std::mutex mu;
            std::condition_variable cv;
            bool woken = false;
        };
        auto wake = std::make_shared<Wake>();
        for (;;) {
            auto snap = c->second->load();
            if (snap && listed(*snap)) break;
            {
                std::lock_guard lk(wake->mu);
                wake->woken = false;
            }
            auto token = c->second->wake_after(snap ? snap->index : 0, [wake] {
                std::lock_guard lk(wake->mu);
                wake->woken = true;
                wake->cv.notify_all();
            });
            std::unique_lock lk(wake->mu);
            bool woken = wake->cv.wait_until(lk, deadline, [&] { return wake->woken; });
            lk.unlock();
            if (token) c->second->cancel_wake(token);
            if (!woken) break;  // not listed within the limit: the caller goes on
        }
    }
}

void CacheSet::maintain() {
    std::int64_t now = sdk::system_ms();
    tick_.store(now, std::memory_order_relaxed);
    std::vector<std::shared_ptr<RoleCache>> retired;
    {
        std::lock_guard lk(mu_);
        // Copied and sifted (which lists the registry's held roles) only
        // when some cache has been idle long enough: most rounds none has.
        auto current = map_.load(std::memory_order_acquire);
        const Map& map = *current;
        bool any_idle = std::any_of(map.begin(), map.end(), [&](const auto& entry) {
            return entry.first != kAllRoles && now - entry.second->last_used() >= limits_.idle.count();
        });
        if (any_idle) {
            auto next = std::make_shared<Map>(map);
            std::size_t before = next->size();
            evict(*next, 0);
            if (next->size() != before) publish(std::move(next));
        }
        retired.swap(retired_);
    }
    // A dropped cache's watch ends here, on this thread, never inside a
    // caller's get() (which may run in a watch's callback).
    for (auto& cache : retired) cache->stop_watch();
    if (!retired.empty()) muster::core::log::debug("dropped {} unused role cache(s)", retired.size());
    auto map = current();  // held: a callback below may move this thread's view
    for (const auto& [key, cache] : *map) {
        route_watch(*cache);
        if (cache->polled())
            refresh(*cache);
        else
            cache->confirm(sdk::system_ms());
        verify_held(*cache);
    }
}

// The watches end outside mu_: ending one waits for its callback, which
// may be in get() waiting for mu_.
void CacheSet::stop() {
    std::vector<std::shared_ptr<RoleCache>> caches;
    {
        std::lock_guard lk(mu_);
        for (const auto& [key, cache] : *map_.load(std::memory_order_acquire)) caches.push_back(cache);
        caches.insert(caches.end(), retired_.begin(), retired_.end());
        retired_.clear();
    }
    for (auto& cache : caches) cache->stop_watch();
}

std::vector<std::shared_ptr<const RoleSnapshot>> CacheSet::snapshots() const {
    std::vector<std::shared_ptr<const RoleSnapshot>> out;
    auto map = current();
    for (const auto& [key, cache] : *map)
        if (auto s = cache->load()) out.push_back(s);
    return out;
}

std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> CacheSet::events() const {
    std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> out;
    auto map = current();
    for (const auto& [key, cache] : *map) out.emplace_back(cache->role().value_or("*"), cache->events());
    return out;
}

void CacheSet::refresh(RoleCache& cache) {
    const std::string* role = cache.role() ? &*cache.role() : nullptr;
    std::uint64_t ticket = cache.poll_ticket();
    ChainRead r = chain_->list(role, 0);
    if (r.outcome.ok())
        cache.publish_polled(ticket, std::move(r.instances), r.backend, sdk::system_ms());
    else
        cache.mark_stale(sdk::system_ms());
}

// Keeps the cache's watch on the preferred backend that is up: moves it when
// that backend fails, and back when a better one recovers. A watch's ERROR
// counts against its backend's breaker.
void CacheSet::route_watch(RoleCache& cache) {
    std::weak_ptr<Chain> weak_chain = chain_;
    const std::string* role = cache.role() ? &*cache.role() : nullptr;
    cache.follow(chain_->watch_source(role), [weak_chain](const BackendClient& source, const std::string& why) {
        if (auto ch = weak_chain.lock()) ch->report_failure(source, why);
    });
}

// Asks every backend that is up about the instances the cache's guard holds:
// those none lists live any more are removed.
void CacheSet::verify_held(RoleCache& cache) {
    if (cache.held_ids().empty()) return;
    const std::string* role = cache.role() ? &*cache.role() : nullptr;
    if (auto live = chain_->live_anywhere(role)) cache.verify_held(*live);
}

}  // namespace muster::core
