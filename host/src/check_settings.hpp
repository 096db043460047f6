// The health-check parts of the settings: [check.NAME] sections and a
// service's depends_on list.
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
// option of the plugin. Throws HostError(kConfig) naming file and line.
std::map<std::string, CheckDef> parse_checks(const std::vector<ConfigEntry>& entries, const std::string& config_path,
                                             std::chrono::milliseconds default_interval,
                                             std::chrono::milliseconds default_timeout);

// "querier, writer:2" -> dependencies (role, optionally the fewest passing
// instances); throws HostError(kConfig) naming `origin`.
std::vector<muster::core::Dependency> parse_depends_on(const std::string& value, const std::string& origin);

}  // namespace host
