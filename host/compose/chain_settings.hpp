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

// "a [NOTFOUND=continue], b" -> links; throws SetupError(config) naming
// s.origin.
std::vector<BackendSpec> parse_chain(const Sourced& s);
// Sets option `key` of backend `b`, remembering where it was set.
void set_option(BackendSpec& b, const std::string& key, const std::string& value, const std::string& origin);

}  // namespace host
