#include "status_json.hpp"

#include "instance_json.hpp"

#include <muster/cpp/clock.hpp>

#include <unistd.h>

namespace host {

namespace {

nlohmann::json links_json(muster::core::Registry& registry, std::int64_t now) {
    nlohmann::json links = nlohmann::json::array();
    for (const auto& l : registry.chain().status())
        links.push_back({{"backend", l.name},
                         {"breaker", muster::core::Breaker::name(l.state)},
                         {"last_error", l.last_error},
                         {"last_success", rfc3339(l.last_success_ms)},
                         {"since_last_success_ms", l.last_success_ms ? now - l.last_success_ms : -1},
                         {"pending", l.pending}});
    return links;
}

}  // namespace

nlohmann::json status_json(Node& node) {
    auto& registry = node.registry();
    std::int64_t now = muster::sdk::system_ms();
    nlohmann::json links = links_json(registry, now);
    nlohmann::json caches = nlohmann::json::array();
    for (const auto& snap : registry.cached())
        caches.push_back({{"role", snap->role ? *snap->role : "*"},
                          {"backend", snap->backend},
                          {"instances", snap->instances.size()},
                          {"held", snap->held},
                          {"stale", snap->stale},
                          {"age_ms", now - snap->as_of_ms}});
    nlohmann::json out = {
        {"pid", static_cast<long>(getpid())}, {"time", rfc3339(now)}, {"chain", links}, {"caches", caches}};
    if (node.regions().configured()) {
        nlohmann::json regions = nlohmann::json::array();
        for (const auto& r : node.regions().status())
            regions.push_back({{"region", r.name},
                               {"local", r.local},
                               {"answers", r.answers},
                               {"cached_roles", r.cached_roles},
                               {"chain", links_json(*node.regions().registry_of(r.name), now)}});
        out["regions"] = regions;
    }
    return out;
}

}  // namespace host
