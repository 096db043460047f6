// A role's snapshot for the agent's readers (HTTP, DNS), with a bound on
// how many roles they make the agent cache: each cached role is a watch
// on the chain, so clients asking for made-up names must not grow them
// without end.
#pragma once

#include <muster/core/registry.hpp>

#include <memory>
#include <string>

namespace host::agent {

constexpr std::size_t kMaxCachedRoles = 1024;

// nullptr when `role` is not cached yet and kMaxCachedRoles are. `role`
// must be a valid role name.
inline std::shared_ptr<const muster::core::RoleSnapshot> bounded_resolve(muster::core::Registry& registry,
                                                                         const std::string& role) {
    // Every query asks: the cached role is found without a lock, and only a
    // new one counts the caches.
    if (auto snapshot = registry.cached(role)) return snapshot;
    if (registry.cached().size() >= kMaxCachedRoles) return nullptr;
    return registry.resolve(role);
}

}  // namespace host::agent
