// What the core does before it creates any plugin instance, backend or
// health check alike, so that the two kinds cannot drift apart: options
// checked against the plugin's schema, the values of secret options
// registered for masking, and plugin messages read with secrets masked.
#pragma once

#include <muster/options.h>
#include <muster/status.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace muster::core {

class PluginConfig {
public:
    // Throws sdk::Error(INVALID_ARGUMENT, "<what>: <problem>") for an option
    // the schema refuses; registers every secret option's value with
    // HostServices before anything can print it.
    PluginConfig(const muster_option_spec* specs, std::size_t count,
                 const std::vector<std::pair<std::string, std::string>>& given, const std::string& what);
    PluginConfig(const PluginConfig&) = delete;
    PluginConfig& operator=(const PluginConfig&) = delete;

    // Borrowed by the plugin's create; valid while this object lives.
    const muster_option* data() const { return c_options_.data(); }
    std::size_t size() const { return c_options_.size(); }

private:
    std::map<std::string, std::string> values_;
    std::vector<muster_option> c_options_;
};

// A plugin's error message (bounded, maybe unterminated), secrets masked;
// `fallback` when it is empty.
std::string plugin_message(const muster_error& err, const char* fallback = "");

}  // namespace muster::core
