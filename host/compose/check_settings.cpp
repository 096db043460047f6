#include "check_settings.hpp"

#include "address_pattern.hpp"
#include "setup_error.hpp"

#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

namespace host {

namespace {

std::chrono::milliseconds duration_of(const ConfigEntry& e, const std::string& where, bool allow_zero) {
    auto ms = muster::sdk::parse_duration_ms(e.value);
    if (!ms || (*ms == 0 && !allow_zero))
        throw SetupError(Fault::config, where + ": " + e.key + " = '" + e.value +
                                            "' is not a duration (use e.g. 500ms, 30s" +
                                            (allow_zero ? ", or 0 for never" : "") + ")");
    return std::chrono::milliseconds(*ms);
}

int count_of(const ConfigEntry& e, const std::string& where) {
    auto n = muster::sdk::parse_int(e.value);
    if (!n || *n < 1 || *n > 100)
        throw SetupError(Fault::config,
                         where + ": " + e.key + " = '" + e.value + "' is not a whole number from 1 to 100");
    return static_cast<int>(*n);
}

// "10.0.0.0/8, 10.0.1.5, [::1]:8080" (address_pattern.hpp).
std::vector<std::string> address_patterns(const ConfigEntry& e, const std::string& where) {
    auto out = split_list(e.value);
    for (const auto& item : out)
        if (auto p = address_pattern_problem(item); !p.empty())
            throw SetupError(Fault::config, where + ": allow_addresses: " + p);
    return out;
}

}  // namespace

std::map<std::string, CheckDef> parse_checks(const std::vector<ConfigEntry>& entries, const std::string& config_path,
                                             std::chrono::milliseconds default_interval,
                                             std::chrono::milliseconds default_timeout) {
    std::map<std::string, CheckDef> out;
    for (const auto& e : entries) {
        std::string name = e.section.substr(6), where = config_path + ":" + std::to_string(e.line);
        CheckDef& c = out[name];
        if (c.name.empty()) {
            c.name = name;
            c.interval = default_interval;
            c.timeout = default_timeout;
            c.origin = config_path + " [check." + name + "]";
        }
        if (e.key == "plugin")
            c.plugin = e.value;
        else if (e.key == "interval")
            c.interval = duration_of(e, where, false);
        else if (e.key == "timeout")
            c.timeout = duration_of(e, where, false);
        else if (e.key == "success_before_passing")
            c.success_before_passing = count_of(e, where);
        else if (e.key == "failures_before_critical")
            c.failures_before_critical = count_of(e, where);
        else if (e.key == "deregister_critical_after")
            c.deregister_critical_after = duration_of(e, where, true);
        else if (e.key == "allow_addresses")
            c.allow_addresses = address_patterns(e, where);
        else
            c.options.emplace_back(e.key, e.value);
    }
    for (const auto& [name, c] : out) {
        if (c.plugin.empty())
            throw SetupError(Fault::config, c.origin + ": a check needs plugin = \"NAME\" (e.g. health-http)");
        if (c.timeout >= c.interval)
            throw SetupError(Fault::config, c.origin + ": timeout (" + std::to_string(c.timeout.count()) +
                                                "ms) must be shorter than interval (" +
                                                std::to_string(c.interval.count()) + "ms)");
    }
    return out;
}

}  // namespace host
