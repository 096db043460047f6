// Regions (docs/regions.md): the local region's registry and the other
// regions' registries, read-only, and the local-first answer. A process
// writes only to its local region: the other regions' registries never
// register, heartbeat or reap; they only cache and watch the roles asked
// of them, starting with the first answer they give (or, with prewarm,
// the first time a role is resolved at all).
#pragma once

#include "settings.hpp"

#include <muster/core/registry.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace host {

class Node;

// Where an answer came from.
struct RegionAnswer {
    std::shared_ptr<const muster::core::RoleSnapshot> snapshot;
    std::string region;  // its region's name; empty without regions
    bool local = true;
    // The answer's index (a blocking query's): the snapshot's, and for a
    // local-first answer from another region the larger of it and the
    // local snapshot's. Snapshot indexes come from one sequence in the
    // process, so a failover or a failback (a new local snapshot) always
    // moves it, even to a remote snapshot older than the local one.
    std::uint64_t index = 0;
};

class Regions {
public:
    // `local`: this process's registry; the others are composed from
    // `settings` (their chains, the local one's other settings).
    Regions(const Settings& settings, muster::core::Registry& local, const std::filesystem::path& builtin);
    ~Regions();

    bool configured() const { return !local_name_.empty(); }
    const std::string& local_name() const { return local_name_; }

    // Local first: the local region's answer while it has an eligible
    // instance of `role` (passing, not drained); otherwise the first region
    // of the failover order that has one; otherwise the local answer.
    // Throws like Registry::resolve for the local region.
    RegionAnswer resolve(const std::string& role);
    // Region `name`'s answer (the local one's too); nullopt: no such region.
    std::optional<RegionAnswer> resolve_in(const std::string& role, const std::string& name);
    // The same from the caches alone, never waiting on a store: nullopt
    // when a region the answer depends on has not cached the role yet
    // (resolve() or resolve_in() first, off the caller's thread), or when
    // `name` is no region.
    std::optional<RegionAnswer> cached(const std::string& role) const;
    std::optional<RegionAnswer> cached_in(const std::string& role, const std::string& name) const;
    // The registry of region `name` (nullptr: no such region), for
    // blocking queries that wait on the answering region.
    muster::core::Registry* registry_of(const std::string& name) const;
    // Every region's name, the local one first.
    std::vector<std::string> names() const;

    // What status output shows of each region: its name, whether it is the
    // local one, how many answers it gave for the local one, and how many
    // roles it caches.
    struct Status {
        std::string name;
        bool local;
        std::uint64_t answers;
        std::size_t cached_roles;
    };
    std::vector<Status> status() const;

private:
    struct Remote;
    Remote* find(const std::string& name) const;

    muster::core::Registry& local_;
    std::string local_name_;
    bool prewarm_ = false;
    mutable std::atomic<std::uint64_t> local_answers_{0};
    std::vector<std::unique_ptr<Remote>> remotes_;  // in the file's order
    std::vector<Remote*> failover_;                 // in failover order
};

}  // namespace host
