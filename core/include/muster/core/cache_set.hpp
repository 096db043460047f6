// The role caches of one registry and their upkeep: readers find a cache
// without a lock; a maintenance round keeps each cache's watch on the
// chain's best backend that can watch, polls the chain for a cache no
// healthy watch feeds, and asks every link about the removals a cache's
// guard holds.
#pragma once

#include <muster/core/chain.hpp>
#include <muster/core/role_cache.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace muster::core {

class CacheSet {
public:
    CacheSet(std::shared_ptr<Chain> chain, MassRemovalGuard guard);
    // Ends every watch.
    ~CacheSet();
    CacheSet(const CacheSet&) = delete;
    CacheSet& operator=(const CacheSet&) = delete;

    // The snapshot of a cached role without a lock (nullptr: not cached).
    // A reader thread that asked before and finds nothing new pays one
    // atomic load. THREADING: any thread.
    std::shared_ptr<const RoleSnapshot> find(const std::string& role) const;
    // The cache of `role` (nullopt: every role); the first call reads
    // through the chain (an empty stale answer when no link answers) and
    // starts its watch. `role` must be valid. THREADING: any thread.
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

private:
    using Map = std::unordered_map<std::string, std::shared_ptr<RoleCache>>;
    void refresh(RoleCache& cache);
    void route_watch(RoleCache& cache);
    void verify_held(RoleCache& cache);

    std::shared_ptr<Chain> chain_;
    MassRemovalGuard guard_;
    // Readers load the map pointer without a lock; a new role publishes a
    // new map and keeps the old one until the set goes, since a reader may
    // still hold it.
    std::mutex mu_;  // serialises get()'s additions
    std::atomic<const Map*> map_{nullptr};
    std::vector<std::unique_ptr<const Map>> maps_;
};

}  // namespace muster::core
