// The chain part of the settings: the chain's text, the seed's [database]
// and [queue] that add backends to it, and each backend's options
// ([backend.NAME] sections, backend-option overrides).
#pragma once

#include "config_file.hpp"
#include "setting_keys.hpp"

#include <vector>

namespace host {

// Sets l.s.chain and each link's options, and l.s.unused_backends: the
// [backend.NAME] sections (`entries`, from `config_path`) of backends not
// in the chain. Throws SetupError naming where a value was set.
void load_chain(Loading& l, const std::vector<ConfigEntry>& entries, const std::string& config_path);

}  // namespace host
