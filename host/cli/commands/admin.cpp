// muster-host deregister, reap and status: operating on the chain.
#include "commands.hpp"

#include "../exit_codes.hpp"
#include "../table.hpp"
#include "compose/instance_json.hpp"
#include "compose/node.hpp"

#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

#include <fstream>
#include <iostream>

namespace host {

namespace {

po::options_description deregister_options() {
    po::options_description d("deregister: stop an instance gracefully (watchers see it removed at once)");
    d.add_options()("id", po::value<std::string>(), "the instance id (required)");
    return d;
}

int deregister(const po::variables_map& vm, const Settings& s) {
    if (!vm.count("id")) throw HostError(kUsage, "deregister needs --id ID");
    std::string id = muster::sdk::normalised_id(vm["id"].as<std::string>());
    if (auto p = muster::sdk::check_id(id); !p.empty()) throw HostError(kUsage, "--id: " + p);
    auto rt = compose(s, Startup::fail_fast);
    auto o = rt->chain->deregister(id);
    if (o.status == MUSTER_NOT_FOUND) throw HostError(kFailure, "no instance with id " + id);
    if (!o.ok()) throw HostError(kUnavailable, "deregister failed: " + o.message);
    std::cout << "deregistered " << id << "\n";
    return kOk;
}

po::options_description reap_options() {
    po::options_description d("reap: delete registrations stopped or stale for longer than --retain");
    d.add_options()("retain", po::value<std::string>()->default_value("0s"), "keep rows that ended less than this ago");
    return d;
}

int reap(const po::variables_map& vm, const Settings& s) {
    auto retain = muster::sdk::parse_duration_ms(vm["retain"].as<std::string>());
    if (!retain)
        throw HostError(kUsage, "--retain '" + vm["retain"].as<std::string>() + "' is not a duration (e.g. 0s, 10m)");
    auto rt = compose(s, Startup::fail_fast);
    std::uint64_t removed = 0;
    auto o = rt->chain->reap(*retain, removed);
    if (!o.ok()) throw HostError(kUnavailable, "reap failed: " + o.message);
    std::cout << "reaped " << removed << " registration(s)\n";
    return kOk;
}

po::options_description status_options() {
    po::options_description d("status: the chain and the state of each backend");
    d.add_options()("json", "print JSON")(
        "status-file", po::value<std::string>(),
        "show the state a running `run --status-file FILE` publishes (breakers, cache ages) instead of probing");
    return d;
}

// The state a running host published: its breakers and its caches.
int published_status(const std::string& path, bool json) {
    std::ifstream in(path);
    if (!in)
        throw HostError(kConfig,
                        "cannot read status file '" + path + "' (is `muster-host run --status-file` running?)");
    nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
    if (doc.is_discarded() || !doc.contains("chain"))
        throw HostError(kConfig, "status file '" + path + "' is not a muster status document");
    if (json) {
        std::cout << doc.dump(2) << "\n";
        return kOk;
    }
    std::cout << "host pid " << doc.value("pid", 0L) << ", published " << doc.value("time", "") << "\n";
    std::vector<std::vector<std::string>> rows{{"#", "BACKEND", "BREAKER", "SINCE SUCCESS", "TO SETTLE", "LAST ERROR"}};
    int n = 0;
    for (const auto& l : doc["chain"]) {
        auto since = l.value("since_last_success_ms", -1L);
        rows.push_back({std::to_string(++n), l.value("backend", ""), l.value("breaker", ""),
                        since < 0 ? "never" : std::to_string(since) + "ms", std::to_string(l.value("pending", 0)),
                        l.value("last_error", "")});
    }
    print_table(rows);
    std::vector<std::vector<std::string>> caches{{"ROLE", "INSTANCES", "HELD", "FROM", "AGE", "STALE"}};
    for (const auto& c : doc["caches"])
        caches.push_back({c.value("role", ""), std::to_string(c.value("instances", 0)),
                          std::to_string(c.value("held", 0)), c.value("backend", ""),
                          std::to_string(c.value("age_ms", 0L)) + "ms", c.value("stale", false) ? "yes" : "no"});
    std::cout << "\n";
    print_table(caches);
    bool any_closed = false;
    for (const auto& l : doc["chain"]) any_closed = any_closed || l.value("breaker", "") == "closed";
    return any_closed ? kOk : kUnavailable;
}

int status(const po::variables_map& vm, const Settings& s) {
    if (vm.count("status-file")) return published_status(vm["status-file"].as<std::string>(), vm.count("json") > 0);
    auto rt = compose(s, Startup::fail_fast);
    // One read through every link, so each state is measured now (each
    // within the read deadline: a hung store shows as down, not as a hang).
    nlohmann::json links = nlohmann::json::array();
    bool any_up = false;
    for (std::size_t i = 0; i < rt->chain->links().size(); ++i) {
        const auto& link = rt->chain->links()[i];
        auto t0 = std::chrono::steady_clock::now();
        auto o = rt->chain->probe(i);
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
        any_up = any_up || o.ok();
        links.push_back({{"backend", link.backend->name()},
                         {"state", o.ok() ? "up" : "down"},
                         {"last_error", o.ok() ? "" : o.message},
                         {"probe_ms", static_cast<double>(us) / 1000.0},
                         {"notfound", link.return_on_empty ? "return" : "continue"},
                         {"plugin", link.backend->plugin().path.string()}});
    }
    if (vm.count("json")) {
        std::cout << nlohmann::json{{"chain", links},
                                    {"ttl_ms", s.registry.ttl.count()},
                                    {"heartbeat_interval_ms", s.registry.heartbeat_interval.count()}}
                         .dump(2)
                  << "\n";
    } else {
        std::vector<std::vector<std::string>> rows{{"#", "BACKEND", "STATE", "PROBE", "NOTFOUND", "LAST ERROR"}};
        int n = 0;
        for (const auto& l : links)
            rows.push_back(
                {std::to_string(++n), l["backend"], l["state"],
                 l.contains("probe_ms") ? std::to_string(l["probe_ms"].get<double>()).substr(0, 5) + "ms" : "-",
                 l.value("notfound", "-"), l["last_error"]});
        print_table(rows);
    }
    return any_up ? kOk : kUnavailable;
}

}  // namespace

extern const Command deregister_command{"deregister", "stop an instance by id", deregister_options, deregister};
extern const Command reap_command{"reap", "delete stopped and stale registrations", reap_options, reap};
extern const Command status_command{"status", "show the chain and each backend's state", status_options, status};

}  // namespace host
