// muster-host pick and drain: client-side routing from the command line.
#include "commands.hpp"

#include "../exit_codes.hpp"
#include "compose/instance_json.hpp"
#include "compose/node.hpp"

#include <muster/core/drain_mark.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/validate.hpp>

#include <iostream>
#include <map>
#include <optional>
#include <thread>

namespace host {

namespace {

po::options_description pick_options() {
    po::options_description d("pick: choose instances of a role as a client's picker would (docs/routing.md)");
    d.add_options()("role", po::value<std::string>(), "the role (required)")(
        "policy", po::value<std::string>()->default_value("round_robin"),
        "round_robin, random, least_outstanding, weighted or maglev")(
        "key", po::value<std::string>(),
        "pick by this key with maglev (the same key picks the same instance); implies --policy maglev")(
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
    // Only maglev hashes a key: a key with no policy given means maglev, and
    // with another policy it would be ignored, so it is refused.
    if (!key.empty()) {
        if (vm["policy"].defaulted())
            policy = muster::core::PickPolicy::maglev;
        else if (*policy != muster::core::PickPolicy::maglev)
            throw HostError(kUsage,
                            "--key picks by hashing, which only --policy maglev does: drop --policy or the key");
    }
    muster::core::PickerOptions o;
    o.policy = *policy;
    if (vm.count("zone")) o.locality.zone = vm["zone"].as<std::string>();
    if (vm.count("region")) o.locality.region = vm["region"].as<std::string>();
    // With regions, the picks are made in the region that answers the role
    // local first (docs/regions.md), never across regions.
    Node node(s, Startup::fail_fast);
    std::string region = node.regions().configured() ? node.regions().resolve(role).region : "";
    auto& registry = region.empty() ? node.registry() : *node.regions().registry_of(region);
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
        nlohmann::json out{
            {"role", role}, {"policy", muster::core::policy_name(*policy)}, {"picks", picks}, {"counts", counts}};
        if (!region.empty()) out["region"] = region;
        std::cout << out.dump(2) << "\n";
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

// The live instance `id` as the chain lists it now.
std::optional<muster::sdk::Instance> find_live(Runtime& rt, const std::string& id) {
    auto read = rt.chain->list(nullptr, 0);
    if (!read.outcome.ok()) throw HostError(kUnavailable, "no backend answered: " + read.outcome.message);
    for (auto& inst : read.instances)
        if (inst.id == id) return std::move(inst);
    return std::nullopt;
}

// Writes the drain mark in every store. The owning process adopts it from
// its cache of the role; a write of its own that it made before its cache
// saw the mark (a new health verdict) can still undo it, so the mark is
// read again after two of the owner's cache rounds and written again if it
// did not hold (docs/routing.md, "Drain").
int drain(const po::variables_map& vm, const Settings& s) {
    if (!vm.count("id")) throw HostError(kUsage, "drain needs --id ID");
    std::string id = muster::sdk::normalised_id(vm["id"].as<std::string>());
    if (auto p = muster::sdk::check_id(id); !p.empty()) throw HostError(kUsage, "--id: " + p);
    bool on = !vm.count("undo");
    const char* done = on ? "draining " : "no longer draining ";
    auto rt = compose(s, Startup::fail_fast);
    auto settle = 2 * registry_options(s).cache_refresh;
    std::int64_t stamp = 0;
    for (int writes = 0;; ++writes) {
        auto inst = find_live(*rt, id);
        if (!inst) throw HostError(kFailure, "no live instance with id " + id);
        if (muster::core::drained(*inst) == on && muster::core::drain_changed_at(*inst) >= stamp) {
            std::cout << (stamp ? done : (on ? "already draining " : "not draining ")) << id << "\n";
            return kOk;
        }
        if (writes == 3) break;
        muster::core::set_drain(*inst, on, muster::sdk::system_ms());
        stamp = muster::core::drain_changed_at(*inst);
        auto o = rt->chain->register_instance(*inst);
        if (!o.ok()) throw HostError(kUnavailable, "drain failed: " + o.message);
        std::this_thread::sleep_for(settle);
    }
    throw HostError(kFailure, "the drain mark of " + id +
                                  " was written over each time: its owner keeps writing it (is it running an "
                                  "older muster?)");
}

}  // namespace

extern const Command pick_command{"pick", "choose instances of a role as a client would (--json for machines)",
                                  pick_options, pick};
extern const Command drain_command{"drain", "drain an instance (listed, never picked), or --undo", drain_options,
                                   drain};

}  // namespace host
