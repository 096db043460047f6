// The table of settings: each key once, with where it is written, its help
// and the parser that stores it (setting_keys.cpp). Internal to the
// composition layer: settings.cpp reads the layers and applies them.
#pragma once

#include "settings.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace host {

// What is being loaded: the settings, and the values that only make sense
// together, kept until every layer is read (settings.cpp, finish()).
struct Loading {
    Settings s;
    std::optional<Sourced> chain, database_url, queue_kind, queue_url, region, failover;
    std::optional<Sourced> http_token, http_token_file, http_read_token, http_read_token_file;
    std::vector<Sourced> backend_options;   // "NAME.key=value", once the chain is known
    std::optional<std::string> ttl_origin;  // where ttl was set; unset: it follows the interval
};

struct SettingKey {
    const char* name;     // command line --NAME; environment MUSTER_NAME (upper snake)
    const char* section;  // [section] in the file; nullptr: overrides only
    const char* key;      // the key in that section
    const char* help;
    // Parses one value and stores it; throws SetupError(config) naming the
    // value's origin and `key` (shown()).
    std::function<void(Loading&, const Sourced& value, const std::string& key)> apply;
    // Given more than once, each value counts (otherwise a second one is an error).
    bool repeatable = false;

    // The key as messages name it: `ttl`, `http`; `log.level` outside
    // [discovery] and [agent].
    std::string shown() const;
    std::string env_name() const;
};

const std::vector<SettingKey>& setting_keys();

}  // namespace host
