#include "region_settings.hpp"

#include "chain_settings.hpp"
#include "setup_error.hpp"

#include <muster/cpp/validate.hpp>

#include <algorithm>

namespace host {

namespace {

RegionSpec& region_named(std::vector<RegionSpec>& regions, const std::string& name, const std::string& where) {
    for (auto& r : regions)
        if (r.name == name) return r;
    // A region names DNS answers (<role>.service.<region>.<domain>): a role's rules (F1) keep it a label.
    if (auto why = muster::sdk::check_role(name); !why.empty())
        throw SetupError(Fault::config, where + ": [region." + name +
                                            "]: a region name is lowercase letters, digits and '-' (" + why + ")");
    regions.push_back({name, {}, where});
    return regions.back();
}

}  // namespace

void load_regions(Loading& l, const std::vector<ConfigEntry>& entries, const std::string& config_path) {
    auto& s = l.s;
    std::vector<RegionSpec> regions;
    std::vector<std::pair<const ConfigEntry*, std::string>> options;  // after every chain is known
    for (const auto& e : entries) {
        std::string name = e.section.substr(7), where = config_path + ":" + std::to_string(e.line);
        RegionSpec& r = region_named(regions, name, where);
        if (e.key == "chain") {
            r.chain = parse_chain({e.value, where});
        } else if (e.key.rfind("backend.", 0) == 0 && e.key.find('.', 8) != std::string::npos) {
            options.emplace_back(&e, where);
        } else {
            throw SetupError(Fault::config, where + ": unknown key '" + e.key + "' in [region." + name +
                                                "] (chain, and [region." + name + ".backend.PLUGIN] sections)");
        }
    }
    for (const auto& [e, where] : options) {
        RegionSpec& r = region_named(regions, e->section.substr(7), where);
        auto dot = e->key.find('.', 8);
        std::string plugin = e->key.substr(8, dot - 8);
        auto b = std::find_if(r.chain.begin(), r.chain.end(), [&](const BackendSpec& x) { return x.name == plugin; });
        if (b == r.chain.end())
            throw SetupError(Fault::config, where + ": [region." + r.name + ".backend." + plugin + "]: '" + plugin +
                                                "' is not in region " + r.name + "'s chain");
        set_option(*b, e->key.substr(dot + 1), e->value, where);
    }
    for (const auto& r : regions)
        if (r.chain.empty())
            throw SetupError(Fault::config, r.origin + ": [region." + r.name + "] has no chain: give chain = \"...\"");

    if (!l.region) {
        if (!regions.empty())
            throw SetupError(Fault::config, regions.front().origin + ": [region." + regions.front().name +
                                                "] needs [discovery] region: the name of this process's region");
        if (l.failover) throw SetupError(Fault::config, l.failover->origin + ": failover needs [discovery] region");
        return;
    }
    s.region = l.region->value;
    region_named(regions, s.region, l.region->origin);  // checks the name
    // The local region's section, if any, is the chain this process writes to.
    auto local = std::find_if(regions.begin(), regions.end(), [&](const RegionSpec& r) { return r.name == s.region; });
    if (!local->chain.empty()) {
        if (l.chain)
            throw SetupError(Fault::config, l.chain->origin + ": the local region's chain is in [region." + s.region +
                                                "]: give it there or in [discovery] chain, not both");
        s.chain = std::move(local->chain);
    }
    regions.erase(local);
    s.regions = std::move(regions);
    if (l.failover) {
        for (const auto& name : split_list(l.failover->value)) {
            if (name == s.region)
                throw SetupError(Fault::config, l.failover->origin + ": failover names the local region '" + name +
                                                    "': list the others, in the order they should answer");
            if (std::none_of(s.regions.begin(), s.regions.end(), [&](const RegionSpec& r) { return r.name == name; }))
                throw SetupError(Fault::config, l.failover->origin + ": failover names '" + name +
                                                    "', which has no [region." + name + "] section");
            if (std::count(s.failover.begin(), s.failover.end(), name))
                throw SetupError(Fault::config, l.failover->origin + ": failover names '" + name + "' twice");
            s.failover.push_back(name);
        }
    } else {
        for (const auto& r : s.regions) s.failover.push_back(r.name);
    }
}

}  // namespace host
