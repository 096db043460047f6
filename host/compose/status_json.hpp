// A node's state as JSON: each link's breaker, last error and last
// success, and each cached role's origin and age. Served by the agent
// (GET /v1/status) and published by `muster-host run --status-file`.
#pragma once

#include <muster/core/registry.hpp>

#include <nlohmann/json.hpp>

namespace host {

nlohmann::json status_json(muster::core::Registry& registry);

}  // namespace host
