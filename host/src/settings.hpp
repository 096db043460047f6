// Everything muster-host is configured with, merged from the config file,
// the environment (MUSTER_*) and the command line, in rising precedence.
// One naming rule: file key `heartbeat_interval` in [discovery] is
// `--heartbeat-interval` on the command line and MUSTER_HEARTBEAT_INTERVAL
// in the environment.
#pragma once

#include <muster/core/check_spec.hpp>

#include <boost/program_options.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace host {

// A value and where it came from ("file.toml:12", "environment", "command line").
struct Sourced {
    std::string value;
    std::string origin;
};

struct BackendSpec {
    std::string name;              // plugin name, or the file's stem for a path
    std::string plugin;            // what to load: the name, or a path to a .so
    bool return_on_empty = false;  // [NOTFOUND=return]
    std::vector<std::pair<std::string, std::string>> options;
    std::map<std::string, std::string> origins;  // option -> where it was set
};

// A named check, [check.NAME] (docs/operations.md, Health checks).
struct CheckDef {
    std::string name;
    std::string plugin;
    std::chrono::milliseconds interval{10000};
    std::chrono::milliseconds timeout{2000};
    int success_before_passing = 1;
    int failures_before_critical = 1;
    std::chrono::milliseconds deregister_critical_after{0};
    std::vector<std::pair<std::string, std::string>> options;  // the plugin's
    // Where a check with a secret option may be sent when a request attaches
    // it: "10.0.0.0/8", "10.0.1.5", "10.0.1.5:8080" (compose.hpp,
    // requested_check).
    std::vector<std::string> allow_addresses;
    std::string origin;
};

struct ServiceSpec {
    std::string name;
    std::string role, address, id;
    std::map<std::string, std::string> metadata;
    // [check.NAME] names, or health-check plugin names (run with
    // [health.PLUGIN]'s options, check_interval and check_timeout).
    std::vector<std::string> checks;
    std::vector<muster::core::Dependency> depends_on;
    std::string origin;
};

// The shortest http_token taken: a guessable token is no credential.
constexpr std::size_t kMinTokenBytes = 16;

struct Settings {
    std::vector<BackendSpec> chain;
    std::chrono::milliseconds heartbeat_interval{10000};
    std::chrono::milliseconds ttl{30000};
    std::chrono::milliseconds check_interval{10000};
    std::chrono::milliseconds check_timeout{2000};
    muster_health dependency_severity = MUSTER_HEALTH_WARNING;
    int check_workers = 4;                   // threads that run health checks
    std::map<std::string, CheckDef> checks;  // [check.NAME]
    // [backend.NAME] sections whose NAME is not in the chain (--chain or
    // MUSTER_CHAIN chose others): NAME and where the section is. Ignored,
    // unless NAME is no plugin at all (compose() refuses a misspelling).
    std::vector<std::pair<std::string, std::string>> unused_backends;
    std::chrono::milliseconds reap_interval{300000};
    std::chrono::milliseconds reap_retain{3600000};
    bool enabled = true;
    bool write_first = false;  // [discovery] write = "first"
    int breaker_threshold = 3;
    std::chrono::milliseconds breaker_backoff{250};
    std::chrono::milliseconds breaker_max_backoff{10000};
    double guard_fraction = 0.5;
    std::chrono::milliseconds read_timeout{250};
    std::chrono::milliseconds write_timeout{1000};
    std::chrono::milliseconds keepalive{500};
    std::chrono::milliseconds startup_timeout{0};  // 0: run keeps trying
    std::chrono::milliseconds drain_grace{0};      // run: drained this long on SIGTERM before deregistering
    std::vector<std::string> plugin_dirs;          // searched in order, before the one beside the program
    // trace ... off; unset: the program's own default (muster-host: info,
    // libmuster: warn, quiet inside an application).
    std::optional<std::string> log_level;
    std::string http_listen;                      // [agent] http: HOST:PORT, empty = off
    std::string http_token;                       // [agent] http_token: a secret, never logged
    bool http_allow_anonymous_writes = false;     // writes without a token (an explicit opt-in)
    std::vector<std::string> http_allowed_hosts;  // Host names besides localhost and IP addresses
    int http_max_connections = 512;
    int http_max_connections_per_client = 64;
    int max_roles = 1024;                         // cached roles at most (RegistryOptions::max_roles)
    std::chrono::milliseconds role_idle{300000};  // RegistryOptions::role_idle
    std::string dns_listen;                       // [agent] dns: HOST:PORT, empty = off
    std::string dns_domain = "muster";
    std::chrono::milliseconds dns_ttl{5000};
    std::chrono::milliseconds dns_stale_max{600000};
    std::vector<ServiceSpec> services;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> health_options;
};

// The options every subcommand accepts.
boost::program_options::options_description common_options();

// Merges file, environment and command line (already parsed into `cli`).
// Throws HostError(kConfig) naming the key and its origin.
Settings load_settings(const boost::program_options::variables_map& cli);

// The same for an embedding application (libmuster): `config_text` when
// given (else the file a "--config" in `args` names), then `args` as on
// muster-host's command line ("--heartbeat-interval=500ms"). The
// environment counts as for muster-host. Throws HostError (kUsage for an
// unknown or malformed argument).
Settings load_settings(const std::vector<std::string>& args, const std::optional<std::string>& config_text);

}  // namespace host
