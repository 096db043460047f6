#include <muster/core/host_services.hpp>
#include <muster/core/plugin_config.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/options.hpp>

#include <cstring>

namespace muster::core {

PluginConfig::PluginConfig(const muster_option_spec* specs, std::size_t count,
                           const std::vector<std::pair<std::string, std::string>>& given, const std::string& what) {
    if (auto problem = sdk::check_options(specs, count, given, values_); !problem.empty())
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, what + ": " + problem);
    for (std::size_t i = 0; i < count; ++i)
        if (specs[i].flags & MUSTER_OPT_SECRET)
            if (auto it = values_.find(specs[i].name); it != values_.end())
                HostServices::instance().add_secret(it->second);
    for (const auto& [k, v] : values_) c_options_.push_back({k.c_str(), v.c_str()});
}

std::string plugin_message(const muster_error& err, const char* fallback) {
    std::string msg(err.message, strnlen(err.message, sizeof err.message));
    return HostServices::instance().redact(msg.empty() ? fallback : msg);
}

}  // namespace muster::core
