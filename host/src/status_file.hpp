// The state a running `muster-host run` publishes for `muster-host status
// --status-file`: each link's breaker, last error and last success, and
// each cached role's origin and age. Written atomically (temp + rename).
#pragma once

#include <muster/core/registry.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace host {

nlohmann::json status_json(muster::core::Registry& registry);
// Replaces `path` with `doc`; failures are logged, never fatal.
void write_status_file(const std::string& path, const nlohmann::json& doc);

}  // namespace host
