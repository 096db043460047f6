// A role's snapshot for the agent's readers (HTTP, DNS), with a bound on
// how many roles they make the agent cache: each cached role is a watch
// on the chain, so clients asking for made-up names must not grow them
// without end.
#pragma once

#include <muster/core/registry.hpp>

#include <algorithm>
#include <memory>
#include <string>

namespace host::agent {

constexpr std::size_t kMaxCachedRoles = 1024;

// nullptr when `role` is not cached yet and kMaxCachedRoles are. `role`
// must be a valid role name.
inline std::shared_ptr<const muster::core::RoleSnapshot> bounded_resolve(muster::core::Registry& registry,
                                                                         const std::string& role) {
    auto cached = registry.cached();
    bool known = std::any_of(cached.begin(), cached.end(), [&](const auto& s) { return s->role == role; });
    if (!known && cached.size() >= kMaxCachedRoles) return nullptr;
    return registry.resolve(role);
}

}  // namespace host::agent
