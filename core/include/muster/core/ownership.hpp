// The registrations one process owns, and the order of the writes about
// each of them. A Registry keeps one; its chain writes them back to a link
// that missed them (Chain::adopt), so what a store holds converges on what
// this process owns.
#pragma once

#include <muster/core/chain.hpp>
#include <muster/core/health_state.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace muster::core {

// One owned registration: the instance as this process last wrote it, its
// health (checks, pushed report, dependencies) and the roles it needs.
struct Owned {
    sdk::Instance instance;
    std::shared_ptr<HealthState> health;
    std::vector<Dependency> depends_on;
};

// THREADING: every method may be called from any thread. Writes about one
// instance (a change, a stop, a write-back by reconcile) are ordered by one
// lock, so a write-back or a new verdict never lands after the stop of the
// same instance and revives it.
class Ownership {
public:
    // Starts owning `o`. Throws sdk::Error CONFLICT when its id is owned
    // already.
    void add(Owned o);
    bool owns(const std::string& id) const;

    // The ids owned now.
    std::vector<std::string> ids() const;
    // A copy of every owned registration.
    std::vector<Owned> all() const;
    // The health of owned instance `id`, or nullptr.
    std::shared_ptr<HealthState> health_of(const std::string& id) const;

    // Stops owning `id` and runs `stop` (the deregistration) in the write
    // order of that id. nullopt when it was not owned (stopped already).
    using Write = std::function<Outcome(const sdk::Instance&)>;
    std::optional<Outcome> remove(const std::string& id, const Write& stop);

    // Changes the owned instance `id` and, when `change` says it changed
    // something, runs `write` with the new instance in the write order of
    // that id. nullopt when `id` is not owned (it was stopped).
    std::optional<Outcome> update(const std::string& id, const std::function<bool(sdk::Instance&)>& change,
                                  const Write& write);

    // Changes the owned instance `id` without writing it, for a change
    // the stores hold already (a drain mark set from outside), in the write
    // order of that id. False when `change` changed nothing or `id` is not
    // owned.
    bool amend(const std::string& id, const std::function<bool(sdk::Instance&)>& change);

    // Brings one link up to date (the chain's write-back, Chain::adopt).
    // ids == nullptr: writes every owned registration (a recovering link).
    // Otherwise for each id: registers it if owned, else deregisters it
    // (NOT_FOUND is fine). Returns the first failure that says the link is
    // down; the chain keeps those ids and tries again.
    Outcome reconcile(const Chain::LinkCall& call, const std::set<std::string>* ids) const;

private:
    mutable std::mutex mu_;        // guards owned_
    mutable std::mutex write_mu_;  // orders the writes about owned instances
    std::map<std::string, Owned> owned_;
};

}  // namespace muster::core
