#include <muster/core/cache_set.hpp>
#include <muster/cpp/clock.hpp>

#include <algorithm>
#include <array>
#include <thread>

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
thread_local std::array<Remembered, 8> remembered;

}  // namespace

CacheSet::CacheSet(std::shared_ptr<Chain> chain, MassRemovalGuard guard) : chain_(std::move(chain)), guard_(guard) {}

CacheSet::~CacheSet() { stop(); }

std::shared_ptr<const RoleSnapshot> CacheSet::find(const std::string& role) const {
    const Map* m = map_.load(std::memory_order_acquire);
    if (!m) return nullptr;
    auto it = m->find(role);
    if (it == m->end()) return nullptr;
    const RoleCache* cache = it->second.get();
    std::uint64_t version = cache->version();
    Remembered& r = remembered[(reinterpret_cast<std::uintptr_t>(cache) >> 6) % remembered.size()];
    if (r.cache == cache && r.version == version && r.snapshot) return r.snapshot;
    auto snap = cache->load();
    if (snap) r = {cache, version, snap};
    return snap;
}

std::shared_ptr<RoleCache> CacheSet::get(const std::optional<std::string>& role) {
    const std::string& key = role ? *role : kAllRoles;
    std::lock_guard lk(mu_);
    const Map* current = map_.load(std::memory_order_acquire);
    if (current)
        if (auto it = current->find(key); it != current->end()) return it->second;
    auto cache = std::make_shared<RoleCache>(role, guard_);
    refresh(*cache);
    if (!cache->load()) {  // no backend answered: an empty answer, marked stale
        cache->publish({}, "", sdk::system_ms());
        cache->mark_stale(sdk::system_ms());
    }
    route_watch(*cache);
    auto next = std::make_unique<Map>(current ? *current : Map{});
    next->emplace(key, cache);
    map_.store(next.get(), std::memory_order_release);
    maps_.push_back(std::move(next));
    return cache;
}

void CacheSet::note_stopped(const std::string& role, const std::string& id) {
    if (const Map* m = map_.load(std::memory_order_acquire))
        for (const std::string& key : {role, kAllRoles})
            if (auto c = m->find(key); c != m->end()) c->second->note_stopped(id, sdk::system_ms());
}

void CacheSet::await_listed(const sdk::Instance& inst, std::chrono::milliseconds limit) const {
    const Map* m = map_.load(std::memory_order_acquire);
    if (!m) return;
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (const std::string& key : {inst.role, kAllRoles}) {
        auto c = m->find(key);
        if (c == m->end()) continue;
        auto listed = [&] {
            auto snapshot = c->second->load();
            return snapshot && std::any_of(snapshot->instances.begin(), snapshot->instances.end(),
                                           [&](const sdk::Instance& i) { return i.id == inst.id; });
        };
        while (!listed() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

void CacheSet::maintain() {
    if (const Map* m = map_.load(std::memory_order_acquire))
        for (const auto& [key, cache] : *m) {
            route_watch(*cache);
            if (cache->polled())
                refresh(*cache);
            else
                cache->confirm(sdk::system_ms());
            verify_held(*cache);
        }
}

void CacheSet::stop() {
    if (const Map* m = map_.load(std::memory_order_acquire))
        for (const auto& [key, cache] : *m) cache->stop_watch();
}

std::vector<std::shared_ptr<const RoleSnapshot>> CacheSet::snapshots() const {
    std::vector<std::shared_ptr<const RoleSnapshot>> out;
    if (const Map* m = map_.load(std::memory_order_acquire))
        for (const auto& [key, cache] : *m)
            if (auto s = cache->load()) out.push_back(s);
    return out;
}

std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> CacheSet::events() const {
    std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> out;
    if (const Map* m = map_.load(std::memory_order_acquire))
        for (const auto& [key, cache] : *m) out.emplace_back(cache->role().value_or("*"), cache->events());
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
    cache.follow(chain_->watch_source(), [weak_chain](const BackendClient& source, const std::string& why) {
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
