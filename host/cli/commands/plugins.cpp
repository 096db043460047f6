// muster-host plugins: every plugin in the plugin directories, its file, what it
// provides and takes, and why any could not be loaded.
#include "commands.hpp"

#include "../exit_codes.hpp"
#include "compose/node.hpp"

#include <muster/cpp/options.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

namespace host {

namespace {

po::options_description plugins_options() {
    po::options_description d("plugins: list the plugins in the plugin directories");
    d.add_options()("json", "print JSON");
    return d;
}

nlohmann::json schema_json(const muster_option_spec* specs, std::size_t n) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < n; ++i) {
        const auto& o = specs[i];
        bool secret = o.flags & MUSTER_OPT_SECRET;
        nlohmann::json shown_default = nullptr;
        if (o.default_value) shown_default = secret ? "****" : o.default_value;
        out.push_back({{"name", o.name},
                       {"type", muster::sdk::option_type_name(o.type)},
                       {"default", shown_default},
                       {"required", (o.flags & MUSTER_OPT_REQUIRED) != 0},
                       {"secret", secret},
                       {"help", o.help ? o.help : ""}});
    }
    return out;
}

int plugins(const po::variables_map& vm, const Settings& s) {
    auto loader = make_loader(s);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : loader.scan()) {
        nlohmann::json j{{"path", e.path.string()}};
        if (!e.plugin) {
            j["error"] = e.error;
        } else {
            const auto* d = e.plugin->descriptor;
            j["name"] = d->name;
            j["version"] = d->version ? d->version : "";
            j["abi"] = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
            j["description"] = d->description ? d->description : "";
            nlohmann::json kinds = nlohmann::json::array();
            if (auto* b = e.plugin->backend)
                kinds.push_back({{"kind", MUSTER_KIND_BACKEND},
                                 {"minor_version", b->minor_version},  // the minor its struct follows
                                 {"options", schema_json(b->options, b->option_count)}});
            if (auto* h = e.plugin->health)
                kinds.push_back({{"kind", MUSTER_KIND_HEALTH},
                                 {"minor_version", h->minor_version},
                                 {"options", schema_json(h->options, h->option_count)}});
            j["kinds"] = kinds;
        }
        out.push_back(j);
    }
    if (vm.count("json")) {
        std::cout << out.dump(2) << "\n";
        return kOk;
    }
    for (const auto& dir : loader.plugin_dirs()) std::cout << "plugin directory: " << dir.string() << "\n";
    for (const auto& p : out) {
        if (p.contains("error")) {
            std::cout << "\n"
                      << p["path"].get<std::string>() << ": NOT LOADED: " << p["error"].get<std::string>() << "\n";
            continue;
        }
        std::cout << "\n"
                  << p["name"].get<std::string>() << " " << p["version"].get<std::string>() << " (ABI "
                  << p["abi"].get<std::string>() << ") - " << p["description"].get<std::string>() << "\n"
                  << "  file " << p["path"].get<std::string>() << "\n";
        for (const auto& k : p["kinds"]) {
            std::cout << "  provides " << k["kind"].get<std::string>() << "\n";
            for (const auto& o : k["options"]) {
                std::cout << "    " << o["name"].get<std::string>() << " (" << o["type"].get<std::string>();
                if (!o["default"].is_null()) std::cout << ", default " << o["default"].get<std::string>();
                if (o["required"].get<bool>()) std::cout << ", required";
                if (o["secret"].get<bool>()) std::cout << ", secret";
                std::cout << "): " << o["help"].get<std::string>() << "\n";
            }
        }
    }
    return kOk;
}

}  // namespace

extern const Command plugins_command{"plugins", "list plugins, their kinds, ABI and options", plugins_options, plugins};

}  // namespace host
