// The [check.NAME] sections of the settings.
#pragma once

#include "config_file.hpp"
#include "settings.hpp"

#include <map>
#include <string>
#include <vector>

namespace host {

// Builds the [check.NAME] definitions from their entries (in file order).
// Keys: plugin (required), interval, timeout, success_before_passing,
// failures_before_critical, deregister_critical_after; any other key is an
// option of the plugin. Throws SetupError(Fault::config) naming file and line.
std::map<std::string, CheckDef> parse_checks(const std::vector<ConfigEntry>& entries, const std::string& config_path,
                                             std::chrono::milliseconds default_interval,
                                             std::chrono::milliseconds default_timeout);

}  // namespace host
