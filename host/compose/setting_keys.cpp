#include "setting_keys.hpp"

#include "config_file.hpp"
#include "setup_error.hpp"

#include <muster/cpp/options.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

namespace host {

namespace {

using Apply = std::function<void(Loading&, const Sourced&, const std::string&)>;

[[noreturn]] void refuse(const Sourced& v, const std::string& key, const std::string& why) {
    throw SetupError(Fault::config, v.origin + ": " + key + " = '" + v.value + "' " + why);
}

// A duration (500ms, 30s, 2m); 0 only where it means "off" or "never".
template <class Get>
Apply duration(Get get, bool zero_ok) {
    return [get, zero_ok](Loading& l, const Sourced& v, const std::string& key) {
        auto ms = muster::sdk::parse_duration_ms(v.value);
        if (!ms || (*ms == 0 && !zero_ok))
            refuse(v, key, std::string("is not a duration (use e.g. 500ms, 30s, 2m") + (zero_ok ? ", or 0" : "") + ")");
        get(l.s) = std::chrono::milliseconds(*ms);
    };
}

// A whole number from 1 to `most`.
template <class Get>
Apply whole(Get get, long most) {
    return [get, most](Loading& l, const Sourced& v, const std::string& key) {
        auto n = muster::sdk::parse_int(v.value);
        if (!n || *n < 1 || *n > most) refuse(v, key, "is not a whole number from 1 to " + std::to_string(most));
        auto& field = get(l.s);
        field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
    };
}

template <class Get>
Apply boolean(Get get) {
    return [get](Loading& l, const Sourced& v, const std::string& key) {
        auto b = muster::sdk::parse_bool(v.value);
        if (!b) refuse(v, key, "is not true or false");
        get(l.s) = *b;
    };
}

// "8500" -> "127.0.0.1:8500"; "HOST:PORT" and "[V6]:PORT" as given.
template <class Get>
Apply listen(Get get) {
    return [get](Loading& l, const Sourced& v, const std::string& key) {
        std::string a = v.value;
        if (!a.empty() && a.find_first_not_of("0123456789") == std::string::npos) a = "127.0.0.1:" + a;
        auto colon = a.rfind(':');
        auto port = colon == std::string::npos ? std::nullopt : muster::sdk::parse_int(a.substr(colon + 1));
        bool host_ok = colon != std::string::npos && colon > 0 && (a[0] != '[' || (colon > 1 && a[colon - 1] == ']'));
        if (!host_ok || !port || *port < 0 || *port > 65535)
            refuse(v, key, "is not HOST:PORT or a port (e.g. 127.0.0.1:8500, [::1]:8500, 8500)");
        get(l.s) = a;
    };
}

// Kept as given until the layers are read: it combines with others.
Apply keep(std::optional<Sourced> Loading::*field) {
    return [field](Loading& l, const Sourced& v, const std::string&) { l.*field = v; };
}

// A host name: lowercase letters, digits, '-' and dots.
bool host_name(const std::string& h) {
    return !h.empty() && h.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") == std::string::npos;
}

void dependency_severity(Loading& l, const Sourced& v, const std::string& key) {
    auto h = muster::sdk::parse_health(v.value);
    if (!h || *h == MUSTER_HEALTH_PASSING) refuse(v, key, "is not warning or critical");
    l.s.registry.dependency_severity = *h;
}

void guard_fraction(Loading& l, const Sourced& v, const std::string& key) {
    char* end = nullptr;
    double f = std::strtod(v.value.c_str(), &end);
    if (v.value.empty() || *end != '\0' || !(f > 0.0 && f <= 1.0))
        refuse(v, key, "is not a number above 0 and at most 1 (e.g. 0.5; 1 turns the guard off)");
    l.s.registry.guard_fraction = f;
}

void write_mode(Loading& l, const Sourced& v, const std::string& key) {
    if (v.value != "all" && v.value != "first") refuse(v, key, "is not \"all\" or \"first\"");
    l.s.chain_options.write = v.value == "first" ? muster::core::WriteMode::first : muster::core::WriteMode::all;
}

void ttl(Loading& l, const Sourced& v, const std::string& key) {
    duration(
        [](Settings & s) -> auto& { return s.registry.ttl; }, false)(l, v, key);
    l.ttl_origin = v.origin;
}

void plugin_dir(Loading& l, const Sourced& v, const std::string&) {
    for (auto& d : split_list(v.value)) l.s.plugin_dirs.push_back(std::move(d));
}

void dns_domain(Loading& l, const Sourced& v, const std::string& key) {
    std::string d = v.value;
    while (!d.empty() && d.back() == '.') d.pop_back();
    if (!host_name(d) || d.size() > 200 || d.front() == '.' || d.find("..") != std::string::npos)
        refuse(v, key, "is not a domain name (lowercase letters, digits, '-' and dots)");
    l.s.dns_domain = d;
}

void allowed_hosts(Loading& l, const Sourced& v, const std::string& key) {
    l.s.http_allowed_hosts = split_list(v.value);
    for (auto& h : l.s.http_allowed_hosts) {
        std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
        if (!host_name(h))
            throw SetupError(Fault::config, v.origin + ": " + key + ": '" + h +
                                                "' is not a host name (no port, no scheme: e.g. muster.internal)");
    }
}

void log_level(Loading& l, const Sourced& v, const std::string& key) {
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
    if (!levels.count(v.value)) refuse(v, key, "is not one of trace, debug, info, warn, error, off");
    l.s.log_level = v.value;
}

void backend_option(Loading& l, const Sourced& v, const std::string& key) {
    auto dot = v.value.find('.'), eq = v.value.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot > eq)
        throw SetupError(Fault::usage, v.origin + ": " + key + " '" + v.value + "' is not NAME.key=value");
    l.backend_options.push_back(v);
}

std::vector<SettingKey> make_keys() {
    return {
        {"chain", "discovery", "chain",
         "ordered backends, e.g. \"nats-kv, catalog-postgres [NOTFOUND=return], catalog-sqlite\" (default "
         "catalog-sqlite)",
         keep(&Loading::chain)},
        {"write", "discovery", "write",
         "all: writes go to every backend that is up (default); first: to the first that answers", write_mode},
        {"breaker-threshold", "discovery", "breaker_threshold",
         "consecutive failures that open a backend's breaker (default 3)",
         whole(
             [](Settings & s) -> auto& { return s.chain_options.breaker.threshold; }, 1000)},
        {"breaker-backoff", "discovery", "breaker_backoff",
         "first wait before an open breaker's probe; doubles per failed probe (default 250ms)",
         duration(
             [](Settings & s) -> auto& { return s.chain_options.breaker.initial_backoff; }, false)},
        {"breaker-max-backoff", "discovery", "breaker_max_backoff",
         "longest wait between probes of an open breaker (default 10s)",
         duration(
             [](Settings & s) -> auto& { return s.chain_options.breaker.max_backoff; }, false)},
        {"guard-fraction", "discovery", "guard_fraction",
         "most of a role one answer may remove at once; beyond it the rest is held until no backend lists it; 1 = "
         "off (default 0.5)",
         guard_fraction},
        {"read-timeout", "discovery", "read_timeout",
         "longest wait for one backend's answer to a read before the next backend is asked (default 250ms)",
         duration(
             [](Settings & s) -> auto& { return s.chain_options.read_timeout; }, false)},
        {"write-timeout", "discovery", "write_timeout",
         "longest wait for one backend to take a write; a late one is settled later (default 1s)",
         duration(
             [](Settings & s) -> auto& { return s.chain_options.write_timeout; }, false)},
        {"keepalive", "discovery", "keepalive",
         "a backend quiet for this long gets a probe read, so a hung store is noticed while idle; 0 = off (default "
         "500ms)",
         duration(
             [](Settings & s) -> auto& { return s.chain_options.keepalive; }, true)},
        {"startup-timeout", "discovery", "startup_timeout",
         "run: give up (exit 5) if no backend takes the registrations within this; 0 = keep trying (default 0)",
         duration(
             [](Settings & s) -> auto& { return s.startup_timeout; }, true)},
        {"drain-grace", "discovery", "drain_grace",
         "run: on SIGTERM, drain the services this long (listed, never picked) before deregistering (default 0)",
         duration(
             [](Settings & s) -> auto& { return s.drain_grace; }, true)},
        {"heartbeat-interval", "discovery", "heartbeat_interval", "time between heartbeats (default 10s)",
         duration(
             [](Settings & s) -> auto& { return s.registry.heartbeat_interval; }, false)},
        {"ttl", "discovery", "ttl",
         "an instance not seen for this long is stale (default: 3 x heartbeat_interval, 30s)", ttl},
        {"plugin-dir", "discovery", "plugin_dir",
         "a directory searched for plugins by name, before lib/muster/plugins beside bin/; repeatable (a "
         "comma-separated list in the file or environment)",
         plugin_dir, true},
        {"local-region", "discovery", "region",
         "this process's region, with [region.NAME] sections for the others (docs/regions.md); default: no regions",
         keep(&Loading::region)},
        {"failover", "discovery", "failover",
         "regions asked, in order, for a role the local region has no eligible instance of (default: every other "
         "region, in the file's order)",
         keep(&Loading::failover)},
        {"prewarm", "discovery", "prewarm",
         "true: watch a role in the failover regions as soon as it is resolved, before the local region empties "
         "(default false)",
         boolean([](Settings & s) -> auto& { return s.prewarm; })},
        {"enabled", "discovery", "enabled", "false: `run` registers nothing (default true)",
         boolean([](Settings & s) -> auto& { return s.enabled; })},
        {"check-interval", "discovery", "check_interval",
         "time between runs of a check named by its plugin (--check, [health.PLUGIN]) (default 10s)",
         duration(
             [](Settings & s) -> auto& { return s.check_interval; }, false)},
        {"check-timeout", "discovery", "check_timeout",
         "longest wait for a check named by its plugin; shorter than check_interval (default 2s)",
         duration(
             [](Settings & s) -> auto& { return s.check_timeout; }, false)},
        {"check-workers", "discovery", "check_workers",
         "threads that run health checks (1 to 256; more stand in while one hangs) (default 4)",
         whole(
             [](Settings & s) -> auto& { return s.registry.check_workers; }, 256)},
        {"dependency-severity", "discovery", "dependency_severity",
         "what a service publishes while a role it depends on is short of passing instances: warning or critical "
         "(default warning)",
         dependency_severity},
        {"reap-interval", "discovery", "reap_interval", "time between reaps of stale rows, 0 = never (default 5m)",
         duration(
             [](Settings & s) -> auto& { return s.registry.reap_interval; }, true)},
        {"reap-retain", "discovery", "reap_retain", "keep stopped/stale rows this long before reaping (default 1h)",
         duration(
             [](Settings & s) -> auto& { return s.registry.reap_retain; }, true)},
        {"max-roles", "discovery", "max_roles",
         "roles cached at most; the least recently used idle role is dropped for a new one (default 1024)",
         whole(
             [](Settings & s) -> auto& { return s.registry.max_roles; }, 1000000)},
        {"role-idle", "discovery", "role_idle",
         "a cached role nobody asked for, watches or registered in for this long may be dropped (default 5m)",
         duration(
             [](Settings & s) -> auto& { return s.registry.role_idle; }, false)},
        {"log-level", "log", "level", "trace, debug, info, warn, error or off (default info; warn in libmuster)",
         log_level},
        {"http", "agent", "http",
         "run: serve the HTTP API and /metrics on HOST:PORT (a port alone binds 127.0.0.1) (default off)",
         listen([](Settings & s) -> auto& { return s.http_listen; })},
        {"dns", "agent", "dns",
         "run: answer DNS on HOST:PORT, UDP and TCP (a port alone binds 127.0.0.1) (default off)",
         listen([](Settings & s) -> auto& { return s.dns_listen; })},
        {"dns-domain", "agent", "dns_domain", "the DNS domain: <role>.service.<domain>. (default muster)", dns_domain},
        {"dns-ttl", "agent", "dns_ttl", "the TTL of DNS answers (default 5s)",
         duration(
             [](Settings & s) -> auto& { return s.dns_ttl; }, true)},
        {"dns-stale-max", "agent", "dns_stale_max",
         "while every backend is down, DNS answers the last good answer until it is this old (default 10m)",
         duration(
             [](Settings & s) -> auto& { return s.dns_stale_max; }, true)},
        {"http-token", "agent", "http_token",
         "run: HTTP writes need 'Authorization: Bearer TOKEN'; a secret, never logged (prefer the file or "
         "MUSTER_HTTP_TOKEN to the command line)",
         keep(&Loading::http_token)},
        {"http-token-file", "agent", "http_token_file",
         "run: read http_token from this file (mode 0600 or stricter; e.g. a systemd credential), instead of the "
         "setting",
         keep(&Loading::http_token_file)},
        {"http-read-token", "agent", "http_read_token",
         "run: HTTP reads (/v1/..., /metrics; not /healthz or the dashboard's files) need 'Authorization: Bearer "
         "TOKEN' with this token or http_token; a secret, never logged (default: reads need none)",
         keep(&Loading::http_read_token)},
        {"http-read-token-file", "agent", "http_read_token_file",
         "run: read http_read_token from this file (mode 0600 or stricter), instead of the setting",
         keep(&Loading::http_read_token_file)},
        {"http-allow-anonymous-writes", "agent", "http_allow_anonymous_writes",
         "run: true lets HTTP writes in without a token (logged as a warning); by default writes need http_token "
         "(default false)",
         boolean([](Settings & s) -> auto& { return s.http_allow_anonymous_writes; })},
        {"http-allowed-hosts", "agent", "http_allowed_hosts",
         "run: host names the HTTP API answers to besides localhost and IP addresses, comma-separated (a request "
         "with another Host is refused, against DNS rebinding)",
         allowed_hosts},
        {"http-max-connections", "agent", "http_max_connections",
         "run: open HTTP connections at most (event streams and blocking queries included) (default 512)",
         whole(
             [](Settings & s) -> auto& { return s.http_max_connections; }, 100000)},
        {"http-max-connections-per-client", "agent", "http_max_connections_per_client",
         "run: open HTTP connections at most from one client address (default 64)",
         whole(
             [](Settings & s) -> auto& { return s.http_max_connections_per_client; }, 100000)},
        {"database-url", "database", "url", "seed form: sqlite://FILE or postgresql://... selects a catalog backend",
         keep(&Loading::database_url)},
        {"queue-kind", "queue", "kind", "seed form: \"nats\" adds the nats-kv backend", keep(&Loading::queue_kind)},
        {"queue-url", "queue", "url", "seed form: the NATS server URL for nats-kv", keep(&Loading::queue_url)},
        {"backend-option", nullptr, "backend-option",
         "NAME.key=value: an option of backend NAME, as in [backend.NAME]; repeatable", backend_option, true},
    };
}

}  // namespace

std::string SettingKey::shown() const {
    std::string s = section ? section : "";
    return s == "discovery" || s == "agent" || s.empty() ? key : s + "." + key;
}

std::string SettingKey::env_name() const {
    std::string out = "MUSTER_";
    for (const char* c = name; *c; ++c)
        out += *c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
    return out;
}

const std::vector<SettingKey>& setting_keys() {
    static const std::vector<SettingKey> keys = make_keys();
    return keys;
}

std::vector<SettingName> setting_names() {
    std::vector<SettingName> out;
    for (const auto& k : setting_keys()) out.push_back({k.name, k.help, k.repeatable});
    return out;
}

}  // namespace host
