// muster-host list and watch: what is registered, and how it changes.
#include "commands.hpp"

#include "../exit_codes.hpp"
#include "../table.hpp"
#include "compose/instance_json.hpp"
#include "compose/node.hpp"

#include <muster/core/registry.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/validate.hpp>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <tuple>

namespace host {

namespace {

std::optional<std::string> role_of(const po::variables_map& vm) {
    if (!vm.count("role")) return std::nullopt;
    std::string role = vm["role"].as<std::string>();
    if (auto p = muster::sdk::check_role(role); !p.empty()) throw HostError(kUsage, "--role: " + p);
    return role;
}

po::options_description list_options() {
    po::options_description d("list: the registered instances");
    d.add_options()("role", po::value<std::string>(), "only this role")(
        "all", "include stopped and stale instances, with their state")("json", "print a JSON array")(
        "from-region", po::value<std::string>(),
        "with regions: this region's instances (default: the local region's, or with --role the local-first "
        "answer)");
    return d;
}

// With regions: the region whose chain a list reads. --from-region names one;
// with --role the local-first answer's (docs/regions.md); else the local one.
std::string region_to_list(const po::variables_map& vm, const Settings& s, const std::optional<std::string>& role,
                           Node& node) {
    if (vm.count("from-region")) {
        std::string r = vm["from-region"].as<std::string>();
        if (!node.regions().registry_of(r))
            throw HostError(kUsage, "--from-region: no region named '" + r + "' (the local one is '" + s.region + "')");
        return r;
    }
    return role ? node.regions().resolve(*role).region : s.region;
}

int list(const po::variables_map& vm, const Settings& s) {
    auto role = role_of(vm);
    bool all = vm.count("all") > 0, json = vm.count("json") > 0;
    std::uint32_t flags = all ? MUSTER_LIST_INCLUDE_STOPPED | MUSTER_LIST_INCLUDE_STALE : 0;
    muster::core::ChainRead read;
    std::string region;
    if (s.region.empty()) {
        if (vm.count("from-region"))
            throw HostError(kUsage, "--from-region: no regions are configured ([discovery] region)");
        read = compose(s, Startup::fail_fast)->chain->list(role ? &*role : nullptr, flags);
    } else {
        Node node(s, Startup::fail_fast);
        region = region_to_list(vm, s, role, node);
        read = node.regions().registry_of(region)->chain().list(role ? &*role : nullptr, flags);
    }
    if (!read.outcome.ok()) throw HostError(kUnavailable, "no backend answered: " + read.outcome.message);
    // One order whatever the store: stores stream rows as they find them.
    std::sort(read.instances.begin(), read.instances.end(),
              [](const auto& a, const auto& b) { return std::tie(a.role, a.id) < std::tie(b.role, b.id); });
    std::int64_t now = muster::sdk::system_ms();
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& i : read.instances) {
            auto j = instance_json(i, read.backend);
            if (all) j["state"] = state_of(i, now, s.registry.ttl.count());
            if (!region.empty()) j["region"] = region;
            out.push_back(j);
        }
        std::cout << out.dump(2) << "\n";
        return kOk;
    }
    std::vector<std::vector<std::string>> rows{{"ROLE", "ID", "ADDRESS", "HEALTH", "LAST SEEN", "METADATA"}};
    if (all) rows[0].push_back("STATE");
    for (const auto& i : read.instances) {
        rows.push_back({i.role, i.id, i.address, health_text(i), rfc3339(i.last_seen_ms), own_metadata_text(i)});
        if (all) rows.back().push_back(state_of(i, now, s.registry.ttl.count()));
    }
    print_table(rows);
    std::cout << read.instances.size() << " instance(s), from " << read.backend
              << (region.empty() ? "" : " in region " + region) << "\n";
    return kOk;
}

po::options_description watch_options() {
    po::options_description d("watch: stream topology changes until SIGINT/SIGTERM");
    d.add_options()("role", po::value<std::string>(), "only this role (default: every role)")(
        "json", "one JSON object per line");
    return d;
}

int watch(const po::variables_map& vm, const Settings& s) {
    auto role = role_of(vm);
    bool json = vm.count("json") > 0;
    auto rt = compose(s, Startup::keep_trying);
    muster::core::Registry registry(rt->chain, registry_options(s));
    std::mutex out_mu;
    auto sub = registry.watch(role, [&](const muster::core::TopologyEvent& e) {
        std::lock_guard lk(out_mu);
        if (json) {
            std::cout << nlohmann::json{{"event", event_name(e.type)},
                                        {"time", rfc3339(muster::sdk::system_ms())},
                                        {"instance", instance_json(e.instance, e.backend)}}
                             .dump()
                      << std::endl;
        } else {
            std::cout << rfc3339(muster::sdk::system_ms()) << " " << event_name(e.type) << " " << e.instance.role << " "
                      << e.instance.id << " " << e.instance.address << " " << health_text(e.instance) << " via "
                      << e.backend << std::endl;
        }
    });
    wait_for_signal();
    sub.cancel();
    return kOk;
}

}  // namespace

extern const Command list_command{"list", "show registered instances (--json for machines)", list_options, list};
extern const Command watch_command{"watch", "stream added/removed/changed events", watch_options, watch};

}  // namespace host
