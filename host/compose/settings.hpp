// Everything a node is configured with, merged from the configuration file,
// the environment (MUSTER_*) and the overrides (muster-host's command line,
// libmuster's settings), in rising precedence. Each key is declared once,
// with its parser and help, in setting_keys.cpp. One naming rule: file key
// `heartbeat_interval` in [discovery] is `--heartbeat-interval` on the
// command line and MUSTER_HEARTBEAT_INTERVAL in the environment; messages
// name a key as the file writes it.
#pragma once

#include "registration.hpp"

#include <muster/core/chain.hpp>
#include <muster/core/check_spec.hpp>
#include <muster/core/registry.hpp>

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
    // it: "10.0.0.0/8", "10.0.1.5", "10.0.1.5:8080" (registration.hpp,
    // CheckAuthority::caller).
    std::vector<std::string> allow_addresses;
    std::string origin;
};

// The shortest http_token taken: a guessable token is no credential.
constexpr std::size_t kMinTokenBytes = 16;

// A node reaps stale rows by itself; a bare Registry does not.
inline muster::core::RegistryOptions node_registry_defaults() {
    muster::core::RegistryOptions o;
    o.reap_interval = std::chrono::minutes(5);
    o.reap_retain = std::chrono::hours(1);
    return o;
}

// [region.NAME]: another region's chain, with its backends' options.
struct RegionSpec {
    std::string name;
    std::vector<BackendSpec> chain;
    std::string origin;  // where the section starts: "file:line"
};

struct Settings {
    std::vector<BackendSpec> chain;  // the local region's, with regions
    // Regions (docs/regions.md): the local one's name (empty: no regions),
    // the other regions in the order they answer a role the local one has
    // no eligible instance of, and whether their caches start before that.
    std::string region;
    std::vector<std::string> failover;
    bool prewarm = false;
    std::vector<RegionSpec> regions;  // every region but the local one, in the file's order
    // [backend.NAME] sections whose NAME is not in the chain (--chain or
    // MUSTER_CHAIN chose others): NAME and where the section is. Ignored,
    // unless NAME is no plugin at all (compose() refuses a misspelling).
    std::vector<std::pair<std::string, std::string>> unused_backends;
    // write, breaker, read_timeout, write_timeout, keepalive (compose()
    // bounds the breaker's backoff by the heartbeat interval).
    muster::core::ChainOptions chain_options;
    // heartbeat_interval, ttl, check_workers, dependency_severity, reaping,
    // guard_fraction, max_roles, role_idle (registry_options() derives the
    // cache refresh).
    muster::core::RegistryOptions registry = node_registry_defaults();
    // A check named by its plugin (--check, [health.PLUGIN]).
    std::chrono::milliseconds check_interval{10000};
    std::chrono::milliseconds check_timeout{2000};
    std::map<std::string, CheckDef> checks;                                                  // [check.NAME]
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> health_options;  // [health.PLUGIN]
    std::vector<RegistrationRequest> services;  // [service.NAME], in file order
    bool enabled = true;
    std::chrono::milliseconds startup_timeout{0};  // 0: run keeps trying
    std::chrono::milliseconds drain_grace{0};      // run: drained this long on SIGTERM before deregistering
    std::vector<std::string> plugin_dirs;          // searched in order, before the bundled plugins
    // trace ... off; unset: the program's own default (muster-host: info,
    // libmuster: warn, quiet inside an application).
    std::optional<std::string> log_level;
    std::string http_listen;                      // [agent] http: HOST:PORT, empty = off
    std::string http_token;                       // [agent] http_token: a secret, never logged
    std::string http_read_token;                  // [agent] http_read_token: reads need it (or http_token)
    bool http_allow_anonymous_writes = false;     // writes without a token (an explicit opt-in)
    std::vector<std::string> http_allowed_hosts;  // Host names besides localhost and IP addresses
    int http_max_connections = 512;
    int http_max_connections_per_client = 64;
    std::string dns_listen;  // [agent] dns: HOST:PORT, empty = off
    std::string dns_domain = "muster";
    std::chrono::milliseconds dns_ttl{5000};
    std::chrono::milliseconds dns_stale_max{600000};
};

// Where settings come from besides the environment.
struct SettingsSource {
    // The configuration file; without one (and without text), the file
    // MUSTER_CONFIG names, if any.
    std::optional<std::string> config_path;
    std::optional<std::string> config_text;  // the same as text; not with config_path
    // By command-line name, without "--": {"heartbeat-interval", "500ms"};
    // a repeatable key ("plugin-dir", "backend-option") repeats.
    std::vector<std::pair<std::string, std::string>> overrides;
    // How messages name where an override was set: this, then its name
    // ("command line --" + "heartbeat-interval").
    std::string overrides_origin = "setting ";
};

// Merges file, environment and overrides, checks every value and how they
// fit together. Throws SetupError: usage for an unknown or repeated
// override, config for anything else, naming the key and where it was set.
Settings load_settings(const SettingsSource& source);

// The keys, for a front end's help and option parser (muster-host's
// options are made from these).
struct SettingName {
    const char* name;  // command line --NAME
    const char* help;
    bool repeatable;
};
std::vector<SettingName> setting_names();

}  // namespace host
