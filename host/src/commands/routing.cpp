// muster-host pick and drain: client-side routing from the command line.
#include "commands.hpp"

#include "../compose.hpp"
#include "../exit_codes.hpp"
#include "../output.hpp"

#include <muster/core/registry.hpp>
#include <muster/cpp/validate.hpp>

#include <iostream>
#include <map>

namespace host {

namespace {

po::options_description pick_options() {
    po::options_description d("pick: choose instances of a role as a client's picker would (docs/routing.md)");
    d.add_options()("role", po::value<std::string>(), "the role (required)")(
        "policy", po::value<std::string>()->default_value("round_robin"),
        "round_robin, random, least_outstanding, weighted or maglev")(
        "key", po::value<std::string>(), "the key for maglev (the same key picks the same instance)")(
        "count", po::value<int>()->default_value(1), "how many picks (1 to 1000000)")(
        "zone", po::value<std::string>(), "this client's zone (prefer instances with metadata zone=...)")(
        "region", po::value<std::string>(), "this client's region (metadata region=...)")(
        "json", "print JSON: every pick and the count per instance");
    return d;
}

int pick(const po::variables_map& vm, const Settings& s) {
    if (!vm.count("role")) throw HostError(kUsage, "pick needs --role ROLE");
    std::string role = vm["role"].as<std::string>();
    if (auto p = muster::sdk::check_role(role); !p.empty()) throw HostError(kUsage, "--role: " + p);
    auto policy = muster::core::parse_policy(vm["policy"].as<std::string>());
    if (!policy)
        throw HostError(kUsage, "--policy '" + vm["policy"].as<std::string>() +
                                    "' is not round_robin, random, least_outstanding, weighted or maglev");
    int count = vm["count"].as<int>();
    if (count < 1 || count > 1000000) throw HostError(kUsage, "--count must be from 1 to 1000000");
    std::string key = vm.count("key") ? vm["key"].as<std::string>() : "";
    muster::core::PickerOptions o;
    o.policy = *policy;
    if (vm.count("zone")) o.locality.zone = vm["zone"].as<std::string>();
    if (vm.count("region")) o.locality.region = vm["region"].as<std::string>();
    auto rt = compose(s, Startup::fail_fast);
    muster::core::Registry registry(rt->chain, registry_options(s));
    auto picker = registry.picker(role, o);
    bool json = vm.count("json") > 0;
    nlohmann::json picks = nlohmann::json::array();
    std::map<std::string, int> counts;
    for (int i = 0; i < count; ++i) {
        auto call = picker->pick(key);
        if (!call) throw HostError(kFailure, "no instance of " + role + " can be picked (none listed, or all drained)");
        const auto& in = call.instance();
        counts[in.id]++;
        if (json)
            picks.push_back({{"id", in.id}, {"address", in.address}, {"locality", call.locality()}});
        else if (count <= 20)
            std::cout << in.address << " " << in.id << " " << health_text(in) << " (" << call.locality() << ")\n";
    }
    if (json) {
        std::cout << nlohmann::json{{"role", role},
                                    {"policy", muster::core::policy_name(*policy)},
                                    {"picks", picks},
                                    {"counts", counts}}
                         .dump(2)
                  << "\n";
    } else if (count > 20) {
        for (const auto& [id, n] : counts) std::cout << id << " " << n << "\n";
    }
    return kOk;
}

po::options_description drain_options() {
    po::options_description d("drain: mark an instance drained (listed, never picked) or, with --undo, not");
    d.add_options()("id", po::value<std::string>(), "the instance id (required)")("undo", "end the drain");
    return d;
}

// Rewrites the instance with the drain mark in every store. The process
// that owns it keeps its own copy: a change it writes later (a new health
// verdict) ends a drain set from outside (docs/routing.md).
int drain(const po::variables_map& vm, const Settings& s) {
    if (!vm.count("id")) throw HostError(kUsage, "drain needs --id ID");
    std::string id = muster::sdk::normalised_id(vm["id"].as<std::string>());
    if (auto p = muster::sdk::check_id(id); !p.empty()) throw HostError(kUsage, "--id: " + p);
    bool on = !vm.count("undo");
    auto rt = compose(s, Startup::fail_fast);
    auto read = rt->chain->list(nullptr, 0);
    if (!read.outcome.ok()) throw HostError(kUnavailable, "no backend answered: " + read.outcome.message);
    for (auto inst : read.instances) {
        if (inst.id != id) continue;
        if (on)
            inst.metadata[MUSTER_META_DRAIN] = "true";
        else
            inst.metadata.erase(MUSTER_META_DRAIN);
        auto o = rt->chain->register_instance(inst);
        if (!o.ok()) throw HostError(kUnavailable, "drain failed: " + o.message);
        std::cout << (on ? "draining " : "no longer draining ") << id << "\n";
        return kOk;
    }
    throw HostError(kFailure, "no live instance with id " + id);
}

}  // namespace

extern const Command pick_command{"pick", "choose instances of a role as a client would (--json for machines)",
                                  pick_options, pick};
extern const Command drain_command{"drain", "drain an instance (listed, never picked), or --undo", drain_options,
                                   drain};

}  // namespace host
