// The file `muster-host run --status-file` keeps for `muster-host status
// --status-file` (status_json), replaced atomically (temp + rename).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace host {

// Replaces `path` with `doc`; failures are logged, never fatal.
void write_status_file(const std::string& path, const nlohmann::json& doc);

}  // namespace host
