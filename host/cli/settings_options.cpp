#include "settings_options.hpp"

namespace po = boost::program_options;

namespace host {

po::options_description common_options() {
    po::options_description d("Configuration (also MUSTER_<NAME> in the environment, or keys in --config FILE)");
    d.add_options()("config", po::value<std::string>(), "read settings from this TOML file");
    for (const auto& k : setting_names()) {
        if (k.repeatable)
            d.add_options()(k.name, po::value<std::vector<std::string>>()->composing(), k.help);
        else
            d.add_options()(k.name, po::value<std::string>(), k.help);
    }
    return d;
}

SettingsSource source_of(const po::variables_map& vm) {
    SettingsSource source;
    source.overrides_origin = "command line --";
    if (vm.count("config")) source.config_path = vm["config"].as<std::string>();
    for (const auto& k : setting_names()) {
        if (!vm.count(k.name)) continue;
        if (k.repeatable)
            for (const auto& v : vm[k.name].as<std::vector<std::string>>()) source.overrides.emplace_back(k.name, v);
        else
            source.overrides.emplace_back(k.name, vm[k.name].as<std::string>());
    }
    return source;
}

}  // namespace host
