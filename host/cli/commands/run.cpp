// muster-host run: registers services, heartbeats and health-checks them,
// logs topology changes of watched roles, deregisters on SIGINT/SIGTERM.
#include "commands.hpp"

#include "../exit_codes.hpp"
#include "../service_manager.hpp"
#include "../status_file.hpp"
#include "agent/dns_server.hpp"
#include "agent/http_server.hpp"
#include "compose/instance_json.hpp"
#include "compose/node.hpp"
#include "compose/status_json.hpp"

#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/validate.hpp>

#include <muster/core/log.hpp>

#include <atomic>
#include <optional>
#include <thread>

namespace host {

po::options_description run_options() {
    po::options_description d("run: register services and keep them alive until SIGINT/SIGTERM");
    d.add_options()("role", po::value<std::string>(), "role of a service to register (with --address)")(
        "address", po::value<std::string>(), "host:port of that service")(
        "id", po::value<std::string>(), "its instance id (a UUID; default: a new one)")(
        "meta", po::value<std::vector<std::string>>()->composing(), "key=value metadata; repeatable")(
        "check", po::value<std::vector<std::string>>()->composing(),
        "a check to run on it: a [check.NAME] or a health-check plugin; repeatable")(
        "depends-on", po::value<std::string>(), "roles it needs, e.g. \"querier, writer:2\" (role[:fewest passing])")(
        "watch", po::value<std::vector<std::string>>()->composing(),
        "log topology changes of this role ('*': every role); repeatable")(
        "status-file", po::value<std::string>(),
        "publish breaker states and cache ages here each second, for `status --status-file`");
    return d;
}

namespace {

// The services to run: the [service.NAME] sections and the command line's.
std::vector<RegistrationRequest> services_of(const po::variables_map& vm, const Settings& s) {
    std::vector<RegistrationRequest> out = s.services;
    bool has_role = vm.count("role"), has_address = vm.count("address");
    if (has_role != has_address) throw HostError(kUsage, "--role and --address go together: give both, or neither");
    if (!has_role && (vm.count("id") || vm.count("meta") || vm.count("check") || vm.count("depends-on")))
        throw HostError(kUsage,
                        "--id, --meta, --check and --depends-on describe a service given with --role and --address");
    if (has_role) {
        RegistrationRequest svc;
        svc.role = vm["role"].as<std::string>();
        svc.address = vm["address"].as<std::string>();
        svc.origin = "command line";
        if (vm.count("id")) svc.id = vm["id"].as<std::string>();
        if (vm.count("meta"))
            for (const auto& kv : vm["meta"].as<std::vector<std::string>>()) {
                auto eq = kv.find('=');
                if (eq == std::string::npos) throw HostError(kUsage, "--meta '" + kv + "' is not key=value");
                if (!svc.metadata.emplace(kv.substr(0, eq), kv.substr(eq + 1)).second)
                    throw HostError(kUsage, "--meta key '" + kv.substr(0, eq) + "' is given twice");
            }
        if (vm.count("check")) svc.checks = vm["check"].as<std::vector<std::string>>();
        if (vm.count("depends-on")) svc.depends_on = {vm["depends-on"].as<std::string>()};
        out.push_back(std::move(svc));
    }
    return out;
}

void log_event(const muster::core::TopologyEvent& e) {
    muster::core::log::info("topology: {} {} {} {} ({}, via {})", event_name(e.type), e.instance.role, e.instance.id,
                            e.instance.address, health_text(e.instance), e.backend);
}

// Registers every service. While no backend takes a registration (the
// stores are not up yet: processes start in any order), retries with a
// backoff, one log line per try, until one does, startup_timeout passes
// (exit 5) or a signal comes (false: whatever was registered is
// deregistered by the caller's handles).
bool register_all(muster::core::Registry& registry, const std::vector<RegistrationRequest>& services,
                  const std::vector<muster::core::InstanceSpec>& specs, const Settings& s,
                  std::vector<muster::core::Registration>& regs) {
    auto started = std::chrono::steady_clock::now();
    std::chrono::milliseconds backoff{250};
    for (std::size_t i = 0; i < services.size(); ++i) {
        const auto& svc = services[i];
        for (;;) {
            try {
                regs.push_back(registry.register_instance(specs[i]));
                break;
            } catch (const muster::sdk::Error& e) {
                // UNSUPPORTED: every backend of the chain is read-only.
                if (e.status() == MUSTER_INVALID_ARGUMENT || e.status() == MUSTER_CONFLICT ||
                    e.status() == MUSTER_UNSUPPORTED)
                    throw HostError(kConfig, svc.origin + ": cannot register " + svc.role + ": " + e.what());
                auto waited = std::chrono::steady_clock::now() - started;
                if (s.startup_timeout.count() > 0 && waited + backoff > s.startup_timeout)
                    throw HostError(kUnavailable, svc.origin + ": cannot register " + svc.role +
                                                      " within startup_timeout (" +
                                                      std::to_string(s.startup_timeout.count()) + "ms): " + e.what());
                muster::core::log::warn("{}: cannot register {} yet ({}); trying again in {} ms", svc.origin, svc.role,
                                        e.what(), backoff.count());
                if (int sig = wait_for_signal(backoff)) {
                    muster::core::log::info("signal {} before every service was registered: deregistering and exiting",
                                            sig);
                    return false;
                }
                backoff =
                    std::min(backoff * 2, std::max(s.registry.heartbeat_interval, std::chrono::milliseconds(1000)));
            }
        }
    }
    return true;
}

int run(const po::variables_map& vm, const Settings& s) {
    auto services = services_of(vm, s);
    for (const auto& svc : services) check_request(svc);  // before anything is composed
    std::vector<std::string> watches;
    if (vm.count("watch")) watches = vm["watch"].as<std::vector<std::string>>();
    for (const auto& w : watches)
        if (w != "*")
            if (auto p = muster::sdk::check_role(w); !p.empty()) throw HostError(kUsage, "--watch: " + p);
    if (!s.enabled) {
        if (!services.empty())
            muster::core::log::warn("discovery is disabled ([discovery] enabled = false): registering nothing");
        services.clear();
    }
    if (services.empty() && watches.empty() && s.http_listen.empty() && s.dns_listen.empty())
        throw HostError(kUsage,
                        "nothing to run: give --role and --address, [service.NAME] sections, --watch ROLE, --http "
                        "ADDRESS or --dns ADDRESS");

    Node node(s, Startup::keep_trying);
    std::vector<muster::core::InstanceSpec> specs;
    for (const auto& svc : services) specs.push_back(node.instance(svc, CheckAuthority::operator_));
    auto& registry = node.registry();
    std::vector<muster::core::Subscription> subs;
    for (const auto& w : watches)
        subs.push_back(registry.watch(w == "*" ? std::nullopt : std::optional<std::string>(w), log_event));
    // The agent's listener comes up before the services register, so a bad
    // address fails at once; it goes before the registry does.
    agent::Metrics metrics(registry);
    std::optional<agent::HttpApi> api;
    std::optional<agent::HttpServer> http;
    std::optional<agent::DnsServer> dns;
    if (!s.http_listen.empty()) {
        api.emplace(node, metrics);
        agent::HttpLimits limits;
        limits.max_connections = static_cast<std::size_t>(s.http_max_connections);
        limits.max_connections_per_client = static_cast<std::size_t>(s.http_max_connections_per_client);
        http.emplace(s.http_listen, *api, limits);
        muster::core::log::info("HTTP API on http://{} (docs/agent.md); {}", http->address(),
                                !s.http_token.empty()           ? "writes need the bearer token"
                                : s.http_allow_anonymous_writes ? "writes need no token"
                                                                : "writes are refused (no http_token)");
        if (s.http_token.empty() && s.http_allow_anonymous_writes)
            muster::core::log::warn(
                "http_allow_anonymous_writes = true: any process that reaches {} can register instances that every "
                "client of this registry will call (docs/security.md)",
                http->address());
    }
    if (!s.dns_listen.empty()) {
        agent::DnsOptions o{s.dns_domain, node.regions().names(), static_cast<std::uint32_t>(s.dns_ttl.count() / 1000),
                            s.dns_stale_max};
        // "ROLE.REGION" asks one region; a role alone, the local-first answer.
        auto& regions = node.regions();
        auto split = [](const std::string& key) {
            auto dot = key.find('.');
            return std::pair(key.substr(0, dot), dot == std::string::npos ? "" : key.substr(dot + 1));
        };
        dns.emplace(
            s.dns_listen, o,
            [&regions, split](const std::string& key) -> agent::RoleFound {
                auto [role, region] = split(key);
                auto a = region.empty() ? regions.cached(role) : regions.cached_in(role, region);
                if (!a) return {};
                return {a->snapshot, region.empty() && !a->local ? a->region : ""};
            },
            [&regions, split](const std::string& key) {
                auto [role, region] = split(key);
                if (region.empty())
                    regions.resolve(role);
                else
                    regions.resolve_in(role, region);
            },
            metrics);
        muster::core::log::info("DNS on {} (UDP and TCP): <role>.service.{}.", dns->address(), s.dns_domain);
    }
    std::vector<muster::core::Registration> regs;
    if (!register_all(registry, services, specs, s, regs)) return kOk;  // a signal came first; regs deregisters
    muster::core::log::info("running {} service(s) on chain {}; SIGINT or SIGTERM deregisters and exits", regs.size(),
                            node.chain().names());
    notify_ready("running " + std::to_string(regs.size()) + " service(s) on chain " + node.chain().names());
    std::atomic<bool> stopping{false};
    std::thread publisher;
    if (vm.count("status-file"))
        publisher = std::thread([&, path = vm["status-file"].as<std::string>()] {
            while (!stopping) {
                write_status_file(path, status_json(node));
                for (int i = 0; i < 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });
    int sig = wait_for_signal();
    if (s.drain_grace.count() > 0 && !regs.empty()) {
        // Callers stop picking these instances before they stop listening;
        // a second signal cuts the grace short.
        for (auto& r : regs) r.drain();
        muster::core::log::info("signal {}: draining for {} ms before deregistering", sig, s.drain_grace.count());
        notify_stopping("draining for " + std::to_string(s.drain_grace.count()) + " ms");
        if (int again = wait_for_signal(s.drain_grace)) sig = again;
    }
    stopping = true;
    if (publisher.joinable()) publisher.join();
    muster::core::log::info("signal {}: deregistering", sig);
    notify_stopping("deregistering");
    regs.clear();
    dns.reset();
    http.reset();
    api.reset();  // deregisters what was registered through the API
    subs.clear();
    return kOk;
}

}  // namespace

extern const Command run_command{"run", "register services, heartbeat them, deregister on SIGINT/SIGTERM", run_options,
                                 run};

}  // namespace host
