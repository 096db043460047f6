// The configuration file: TOML-style [section] headers and key = "value"
// lines (a subset of TOML: strings, booleans, integers; # comments). Every
// entry keeps its line so that errors can name it.
#pragma once

#include <string>
#include <vector>

namespace host {

struct ConfigEntry {
    std::string section;  // "discovery", "backend.catalog-sqlite", ...
    std::string key;
    std::string value;  // unquoted, escapes resolved
    int line = 0;
};

// Reads and parses `path`; throws SetupError(Fault::config) naming file and line.
std::vector<ConfigEntry> read_config_file(const std::string& path);
// Parses text (for tests); `name` is used in messages.
std::vector<ConfigEntry> parse_config(const std::string& text, const std::string& name);

// "a, b ,c" -> {a, b, c}: a list value, items trimmed, empty items dropped.
std::vector<std::string> split_list(const std::string& value);

}  // namespace host
