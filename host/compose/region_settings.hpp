// The region part of the settings: [discovery] region, failover and the
// [region.NAME] sections, each a chain with its backends' options
// (docs/regions.md).
#pragma once

#include "config_file.hpp"
#include "setting_keys.hpp"

#include <vector>

namespace host {

// Sets l.s.region, l.s.failover and l.s.regions from `entries` (the
// [region.NAME] keys, from `config_path`); a section for the local region
// replaces the chain. Throws SetupError(config) naming where a value was set.
void load_regions(Loading& l, const std::vector<ConfigEntry>& entries, const std::string& config_path);

}  // namespace host
