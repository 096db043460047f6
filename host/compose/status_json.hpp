// A node's state as JSON: each link's breaker, last error and last
// success, each cached role's origin and age, and with regions each
// region's chain, answers and cached roles. Served by the agent
// (GET /v1/status) and published by `muster-host run --status-file`.
#pragma once

#include "node.hpp"

#include <nlohmann/json.hpp>

namespace host {

nlohmann::json status_json(Node& node);

}  // namespace host
