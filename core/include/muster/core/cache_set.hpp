// The role caches of one registry and their upkeep: readers find a cache
// without a lock; a maintenance round keeps each cache's watch on the
// chain's best backend that can watch, polls the chain for a cache no
// healthy watch feeds, asks every link about the removals a cache's guard
// holds, and drops the caches nobody uses. The number of caches is
// bounded: names a client makes up cannot grow it (docs/security.md).
#pragma once

#include <muster/core/chain.hpp>
#include <muster/core/role_cache.hpp>
#include <muster/cpp/clock.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace muster::core {

struct CacheLimits {
    // Role caches at most (the every-role cache not counted). A new role
    // beyond it drops the least recently used cache that nothing holds,
    // empty ones first.
    std::size_t max_roles = 1024;
    // A cache nothing holds and nobody asked for in this long is dropped.
    std::chrono::milliseconds idle{300000};
    // The roles the registry needs whatever their use (its registrations'
    // roles and their dependencies). Called under the set's lock, rarely.
    std::function<std::set<std::string>()> held;
};

class CacheSet {
public:
    CacheSet(std::shared_ptr<Chain> chain, MassRemovalGuard guard, CacheLimits limits = {});
    // Ends every watch.
    ~CacheSet();
    CacheSet(const CacheSet&) = delete;
    CacheSet& operator=(const CacheSet&) = delete;

    // The snapshot of a cached role without a lock (nullptr: not cached).
    // A reader thread that asked before and finds nothing new pays one
    // atomic load. THREADING: any thread.
    std::shared_ptr<const RoleSnapshot> find(const std::string& role) const { return *remembered(role); }
    // The same, borrowed from this thread's memory of it (no reference
    // count taken): valid on this thread until its next find() or peek().
    // THREADING: any thread.
    const RoleSnapshot* peek(const std::string& role) const;
    // find() for the cache of every role.
    std::shared_ptr<const RoleSnapshot> find_every_role() const;
    // The cache of `role` (nullopt: every role); the first call reads
    // through the chain (an empty stale answer when no link answers) and
    // starts its watch. `role` must be valid. Throws sdk::Error UNAVAILABLE
    // when max_roles caches are held (subscribed, picked from, registered
    // in). THREADING: any thread; a first call waits for the chain's read,
    // other callers do not wait for it.
    std::shared_ptr<RoleCache> get(const std::optional<std::string>& role);

    // This process is stopping instance `id` of `role`: the caches of that
    // role and of every role take its removal as explained.
    void note_stopped(const std::string& role, const std::string& id);

    // This process has just registered `inst`: waits until the caches of
    // its role and of every role list it (a watch's event, or the next
    // poll), at most `limit`, so that a resolve after a registration sees
    // it. THREADING: any thread.
    void await_listed(const sdk::Instance& inst, std::chrono::milliseconds limit) const;

    // One round of upkeep for every cache. THREADING: one thread (the
    // registry's maintenance thread).
    void maintain();
    // Ends every watch: no event reaches a cache after it returns.
    void stop();

    // Every cache's snapshot, for status output.
    std::vector<std::shared_ptr<const RoleSnapshot>> snapshots() const;
    // Every cache's topology events so far (RoleCache::events()), by role
    // ("*": the cache of every role).
    std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> events() const;

    // How many role caches there are (the every-role cache not counted).
    std::size_t size() const;

private:
    // This thread's remembered snapshot of `role`, brought up to date (a
    // null one when the role is not cached).
    const std::shared_ptr<const RoleSnapshot>* remembered(const std::string& role) const;
    using Map = std::unordered_map<std::string, std::shared_ptr<RoleCache>>;
    // This thread's view of the map: valid until this thread's next call
    // (copy it to keep it across calls that may come back here).
    const std::shared_ptr<const Map>& current() const;
    // Publishes `next` as the map readers see. Call with mu_ held.
    void publish(std::shared_ptr<const Map> next);
    // Drops caches: those idle past limits_.idle, and while `room` is not
    // there, the least recently used that nothing holds. Call with mu_ held.
    void evict(Map& map, std::size_t room);
    void refresh(RoleCache& cache);
    void route_watch(RoleCache& cache);
    void verify_held(RoleCache& cache);

    std::shared_ptr<Chain> chain_;
    MassRemovalGuard guard_;
    CacheLimits limits_;
    // Readers find the map without a lock: each thread keeps the map it saw
    // last with the generation it had, and loads the current one only when
    // the generation moved (a role was added or dropped). Writers copy the
    // map under mu_; an old map lives while a reader thread keeps it.
    std::mutex mu_;  // serialises additions and evictions
    std::atomic<std::shared_ptr<const Map>> map_;
    std::atomic<std::uint64_t> generation_{0};
    // Roles being read for the first time, so a second caller of the same
    // role waits for that read and callers of other roles do not.
    std::map<std::string, std::shared_future<std::shared_ptr<RoleCache>>> loading_;
    // Dropped caches whose watches maintain() ends (under mu_).
    std::vector<std::shared_ptr<RoleCache>> retired_;
    // A coarse clock (ms) for "last used": set by maintain(), read by every
    // find(), so readers never call the clock.
    std::atomic<std::int64_t> tick_{sdk::system_ms()};
};

}  // namespace muster::core
