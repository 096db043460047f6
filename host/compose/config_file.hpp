// The configuration file, read by toml++ (full TOML 1.0: arrays, inline
// tables, multi-line strings, dotted keys) and flattened into entries the
// settings read: [section] key = value, [backend.NAME] key = value. Every
// entry keeps its line so that errors can name it; syntax errors name the
// line and column.
#pragma once

#include <string>
#include <vector>

namespace host {

struct ConfigEntry {
    std::string section;  // "discovery", "backend.catalog-sqlite", ...
    std::string key;
    std::string value;  // a string as it is; a number or boolean as written; an array as "a, b"
    int line = 0;
};

// Reads and parses `path`; throws SetupError(Fault::config) naming file and line.
std::vector<ConfigEntry> read_config_file(const std::string& path);
// Parses text (for tests); `name` is used in messages.
std::vector<ConfigEntry> parse_config(const std::string& text, const std::string& name);

// "a, b ,c" -> {a, b, c}: a list value, items trimmed, empty items dropped.
std::vector<std::string> split_list(const std::string& value);

}  // namespace host
