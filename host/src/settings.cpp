#include "settings.hpp"

#include "check_settings.hpp"
#include "config_file.hpp"
#include "exit_codes.hpp"

#include <muster/cpp/instance.hpp>
#include <muster/cpp/options.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace po = boost::program_options;

namespace host {

namespace {

// The flat settings and the [section] each lives in, in the file.
struct Known {
    const char* name;     // command-line name; env is MUSTER_ + upper snake
    const char* section;  // file section
    const char* key;      // file key
    const char* help;
};
constexpr Known kKnown[] = {
    {"chain", "discovery", "chain",
     "ordered backends, e.g. \"nats-kv, catalog-postgres [NOTFOUND=return], catalog-sqlite\" (default catalog-sqlite)"},
    {"write", "discovery", "write",
     "all: writes go to every backend that is up (default); first: to the first that answers"},
    {"breaker-threshold", "discovery", "breaker_threshold",
     "consecutive failures that open a backend's breaker (default 3)"},
    {"breaker-backoff", "discovery", "breaker_backoff",
     "first wait before an open breaker's probe; doubles per failed probe (default 250ms)"},
    {"breaker-max-backoff", "discovery", "breaker_max_backoff",
     "longest wait between probes of an open breaker (default 10s)"},
    {"guard-fraction", "discovery", "guard_fraction",
     "most of a role one answer may remove at once; beyond it the rest is held until no backend lists it; 1 = off "
     "(default 0.5)"},
    {"read-timeout", "discovery", "read_timeout",
     "longest wait for one backend's answer to a read before the next backend is asked (default 250ms)"},
    {"write-timeout", "discovery", "write_timeout",
     "longest wait for one backend to take a write; a late one is settled later (default 1s)"},
    {"keepalive", "discovery", "keepalive",
     "a backend quiet for this long gets a probe read, so a hung store is noticed while idle; 0 = off (default 500ms)"},
    {"startup-timeout", "discovery", "startup_timeout",
     "run: give up (exit 5) if no backend takes the registrations within this; 0 = keep trying (default 0)"},
    {"drain-grace", "discovery", "drain_grace",
     "run: on SIGTERM, drain the services this long (listed, never picked) before deregistering (default 0)"},
    {"heartbeat-interval", "discovery", "heartbeat_interval", "time between heartbeats (default 10s)"},
    {"ttl", "discovery", "ttl", "an instance not seen for this long is stale (default: 3 x heartbeat_interval, 30s)"},
    {"plugin-dir", "discovery", "plugin_dir",
     "a directory searched for plugins by name, before lib/muster/plugins beside bin/; repeatable (a comma-separated "
     "list in the file or environment)"},
    {"enabled", "discovery", "enabled", "false: `run` registers nothing (default true)"},
    {"check-interval", "discovery", "check_interval",
     "time between runs of a check named by its plugin (--check, [health.PLUGIN]) (default 10s)"},
    {"check-timeout", "discovery", "check_timeout",
     "longest wait for a check named by its plugin; shorter than check_interval (default 2s)"},
    {"check-workers", "discovery", "check_workers",
     "threads that run health checks (1 to 256; more stand in while one hangs) (default 4)"},
    {"dependency-severity", "discovery", "dependency_severity",
     "what a service publishes while a role it depends on is short of passing instances: warning or critical "
     "(default warning)"},
    {"reap-interval", "discovery", "reap_interval", "time between reaps of stale rows, 0 = never (default 5m)"},
    {"reap-retain", "discovery", "reap_retain", "keep stopped/stale rows this long before reaping (default 1h)"},
    {"log-level", "log", "level", "trace, debug, info, warn, error or off (default info; warn in libmuster)"},
    {"http", "agent", "http",
     "run: serve the HTTP API and /metrics on HOST:PORT (a port alone binds 127.0.0.1) (default off)"},
    {"dns", "agent", "dns", "run: answer DNS on HOST:PORT, UDP and TCP (a port alone binds 127.0.0.1) (default off)"},
    {"dns-domain", "agent", "dns_domain", "the DNS domain: <role>.service.<domain>. (default muster)"},
    {"dns-ttl", "agent", "dns_ttl", "the TTL of DNS answers (default 5s)"},
    {"dns-stale-max", "agent", "dns_stale_max",
     "while every backend is down, DNS answers the last good answer until it is this old (default 10m)"},
    {"http-token", "agent", "http_token",
     "run: HTTP writes need 'Authorization: Bearer TOKEN'; a secret, never logged (prefer the file or "
     "MUSTER_HTTP_TOKEN to the command line)"},
    {"http-token-file", "agent", "http_token_file",
     "run: read http_token from this file (mode 0600 or stricter; e.g. a systemd credential), instead of the "
     "setting"},
    {"http-allow-anonymous-writes", "agent", "http_allow_anonymous_writes",
     "run: true lets HTTP writes in without a token (logged as a warning); by default writes need http_token "
     "(default false)"},
    {"http-allowed-hosts", "agent", "http_allowed_hosts",
     "run: host names the HTTP API answers to besides localhost and IP addresses, comma-separated (a request with "
     "another Host is refused, against DNS rebinding)"},
    {"http-max-connections", "agent", "http_max_connections",
     "run: open HTTP connections at most (event streams and blocking queries included) (default 512)"},
    {"http-max-connections-per-client", "agent", "http_max_connections_per_client",
     "run: open HTTP connections at most from one client address (default 64)"},
    {"max-roles", "discovery", "max_roles",
     "roles cached at most; the least recently used idle role is dropped for a new one (default 1024)"},
    {"role-idle", "discovery", "role_idle",
     "a cached role nobody asked for, watches or registered in for this long may be dropped (default 5m)"},
    {"database-url", "database", "url", "seed form: sqlite://FILE or postgresql://... selects a catalog backend"},
    {"queue-kind", "queue", "kind", "seed form: \"nats\" adds the nats-kv backend"},
    {"queue-url", "queue", "url", "seed form: the NATS server URL for nats-kv"},
};

std::string env_name(const std::string& name) {
    std::string out = "MUSTER_";
    for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::chrono::milliseconds duration(const std::map<std::string, Sourced>& flat, const std::string& name,
                                   std::chrono::milliseconds fallback, bool allow_zero) {
    auto it = flat.find(name);
    if (it == flat.end()) return fallback;
    auto ms = muster::sdk::parse_duration_ms(it->second.value);
    if (!ms || (*ms == 0 && !allow_zero))
        throw HostError(kConfig, it->second.origin + ": " + name + " = '" + it->second.value +
                                     "' is not a duration (use e.g. 500ms, 30s, 2m" + (allow_zero ? ", or 0" : "") +
                                     ")");
    return std::chrono::milliseconds(*ms);
}

// A whole number from 1 to `most`; `fallback` when unset.
int whole_number(const std::map<std::string, Sourced>& flat, const std::string& name, int fallback, int most) {
    auto it = flat.find(name);
    if (it == flat.end()) return fallback;
    auto n = muster::sdk::parse_int(it->second.value);
    if (!n || *n < 1 || *n > most) {
        std::string key = name;
        std::replace(key.begin(), key.end(), '-', '_');
        throw HostError(kConfig, it->second.origin + ": " + key + " = '" + it->second.value +
                                     "' is not a whole number from 1 to " + std::to_string(most));
    }
    return static_cast<int>(*n);
}

// A secret kept in a file of its own (its first line): refused when others
// than its owner may read it, as ssh refuses a private key.
std::string read_secret_file(const Sourced& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    auto perms = fs::status(path.value, ec).permissions();
    if (ec || !fs::is_regular_file(path.value, ec))
        throw HostError(kConfig, path.origin + ": '" + path.value + "' is not a readable file");
    if ((perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none)
        throw HostError(kConfig,
                        path.origin + ": '" + path.value + "' may be read by others than its owner; chmod 600 it");
    std::ifstream in(path.value);
    std::string line;
    if (!in || !std::getline(in, line)) throw HostError(kConfig, path.origin + ": cannot read '" + path.value + "'");
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

// "a [NOTFOUND=continue], b" -> links.
std::vector<BackendSpec> parse_chain(const Sourced& s) {
    std::vector<BackendSpec> out;
    std::string text = s.value;
    for (char& c : text)
        if (c == ',') c = ' ';
    std::istringstream in(text);
    std::string tok;
    while (in >> tok) {
        if (tok.front() == '[') {
            if (out.empty())
                throw HostError(kConfig, s.origin + ": chain action '" + tok + "' must follow a backend name");
            if (tok == "[NOTFOUND=return]")
                out.back().return_on_empty = true;
            else if (tok == "[NOTFOUND=continue]")
                out.back().return_on_empty = false;
            else
                throw HostError(kConfig, s.origin + ": unknown chain action '" + tok +
                                             "' (use [NOTFOUND=return] or [NOTFOUND=continue])");
            continue;
        }
        // A path to a plugin file links a plugin from anywhere; its options
        // go by the file's stem ([backend.STEM], --backend-option STEM.key=v).
        std::string name = tok, plugin = tok;
        if (tok.find('/') != std::string::npos) {
            std::filesystem::path p(tok);
            if (p.extension() != ".so")
                throw HostError(kConfig, s.origin + ": '" + tok + "' is a path but not to a plugin file (NAME.so)");
            name = p.stem().string();
        } else {
            for (char c : tok)
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                    throw HostError(kConfig,
                                    s.origin + ": '" + tok +
                                        "' is not a plugin name (lowercase letters, digits, '-') nor a path to a .so");
        }
        for (const auto& b : out)
            if (b.name == name)
                throw HostError(kConfig, s.origin + ": backend '" + name + "' appears twice in the chain");
        out.push_back({name, plugin, false, {}, {}});
    }
    if (out.empty())
        throw HostError(kConfig, s.origin + ": the chain is empty: name at least one backend, e.g. catalog-sqlite");
    return out;
}

// "8500" -> "127.0.0.1:8500"; "HOST:PORT" and "[V6]:PORT" as given.
std::string listen_address(const Sourced& v, const std::string& key) {
    std::string a = v.value;
    if (!a.empty() && a.find_first_not_of("0123456789") == std::string::npos) a = "127.0.0.1:" + a;
    auto colon = a.rfind(':');
    auto port = colon == std::string::npos ? std::nullopt : muster::sdk::parse_int(a.substr(colon + 1));
    bool host_ok = colon != std::string::npos && colon > 0 && (a[0] != '[' || (colon > 1 && a[colon - 1] == ']'));
    if (!host_ok || !port || *port < 0 || *port > 65535)
        throw HostError(kConfig, v.origin + ": " + key + " = '" + v.value +
                                     "' is not HOST:PORT or a port (e.g. 127.0.0.1:8500, [::1]:8500, 8500)");
    return a;
}

BackendSpec* find_backend(std::vector<BackendSpec>& chain, const std::string& name) {
    for (auto& b : chain)
        if (b.name == name) return &b;
    return nullptr;
}

void set_option(BackendSpec& b, const std::string& key, const std::string& value, const std::string& origin) {
    for (auto& [k, v] : b.options)
        if (k == key) {
            v = value;
            b.origins[key] = origin;
            return;
        }
    b.options.emplace_back(key, value);
    b.origins[key] = origin;
}

}  // namespace

po::options_description common_options() {
    po::options_description d("Configuration (also MUSTER_<NAME> in the environment, or keys in --config FILE)");
    d.add_options()("config", po::value<std::string>(), "read settings from this TOML-style file");
    for (const auto& k : kKnown) {
        if (std::string(k.name) == "plugin-dir")
            d.add_options()(k.name, po::value<std::vector<std::string>>()->composing(), k.help);
        else
            d.add_options()(k.name, po::value<std::string>(), k.help);
    }
    d.add_options()("backend-option", po::value<std::vector<std::string>>()->composing(),
                    "NAME.key=value: an option of backend NAME, as in [backend.NAME]; repeatable");
    return d;
}

namespace {

Settings load(const po::variables_map& cli, const std::optional<std::string>& config_text) {
    std::map<std::string, Sourced> flat;
    std::vector<ConfigEntry> file;
    std::string config_path;
    if (config_text) {
        config_path = "config text";
        file = parse_config(*config_text, config_path);
    } else if (cli.count("config")) {
        config_path = cli["config"].as<std::string>();
    } else if (const char* e = std::getenv("MUSTER_CONFIG")) {
        config_path = e;
    }
    if (!config_text && !config_path.empty()) file = read_config_file(config_path);

    // 1. The file: known keys, then the plugin and service sections.
    std::vector<ConfigEntry> backend_entries, health_entries, service_entries, check_entries;
    for (const auto& e : file) {
        std::string where = config_path + ":" + std::to_string(e.line);
        if (e.section.rfind("backend.", 0) == 0) {
            backend_entries.push_back(e);
            continue;
        }
        if (e.section.rfind("health.", 0) == 0) {
            health_entries.push_back(e);
            continue;
        }
        if (e.section.rfind("service.", 0) == 0) {
            service_entries.push_back(e);
            continue;
        }
        if (e.section.rfind("check.", 0) == 0) {
            check_entries.push_back(e);
            continue;
        }
        const Known* k = nullptr;
        bool section_known = false;
        for (const auto& cand : kKnown) {
            if (e.section == cand.section) section_known = true;
            if (e.section == cand.section && e.key == cand.key) k = &cand;
        }
        if (!section_known)
            throw HostError(
                kConfig, where + ": unknown section [" + e.section +
                             "] (known: discovery, log, agent, database, queue, backend.NAME, health.NAME, check.NAME, "
                             "service.NAME)");
        if (!k) throw HostError(kConfig, where + ": unknown key '" + e.key + "' in [" + e.section + "]");
        flat[k->name] = {e.value, where};
    }
    // 2. The environment, 3. the command line: each overrides the one before.
    for (const auto& k : kKnown)
        if (const char* v = std::getenv(env_name(k.name).c_str()))
            flat[k.name] = {v, "environment " + env_name(k.name)};
    for (const auto& k : kKnown)
        if (cli.count(k.name) && std::string(k.name) != "plugin-dir")
            flat[k.name] = {cli[k.name].as<std::string>(), "command line --" + std::string(k.name)};

    Settings s;
    s.heartbeat_interval = duration(flat, "heartbeat-interval", s.heartbeat_interval, false);
    // Without a ttl of its own, the ttl follows the interval: three missed
    // heartbeats (Eureka's 30 s / 90 s), so the seed's `heartbeat_interval =
    // "30s"` alone is accepted as written.
    bool ttl_given = flat.count("ttl") > 0;
    s.ttl = duration(flat, "ttl", s.heartbeat_interval * 3, false);
    s.check_interval = duration(flat, "check-interval", s.check_interval, false);
    s.check_timeout = duration(flat, "check-timeout", s.check_timeout, false);
    if (s.check_timeout >= s.check_interval)
        throw HostError(kConfig, "check_timeout (" + std::to_string(s.check_timeout.count()) +
                                     "ms) must be shorter than check_interval (" +
                                     std::to_string(s.check_interval.count()) + "ms)");
    if (auto it = flat.find("dependency-severity"); it != flat.end()) {
        auto h = muster::sdk::parse_health(it->second.value);
        if (!h || *h == MUSTER_HEALTH_PASSING)
            throw HostError(kConfig, it->second.origin + ": dependency_severity must be warning or critical");
        s.dependency_severity = *h;
    }
    s.checks = parse_checks(check_entries, config_path, s.check_interval, s.check_timeout);
    s.check_workers = whole_number(flat, "check-workers", s.check_workers, 256);
    s.reap_interval = duration(flat, "reap-interval", s.reap_interval, true);
    s.reap_retain = duration(flat, "reap-retain", s.reap_retain, true);
    if (ttl_given && s.heartbeat_interval >= s.ttl)
        throw HostError(kConfig, flat["ttl"].origin + ": heartbeat_interval (" +
                                     std::to_string(s.heartbeat_interval.count()) + "ms) must be shorter than ttl (" +
                                     std::to_string(s.ttl.count()) +
                                     "ms), or instances expire between heartbeats (leave ttl unset: it follows the "
                                     "interval, 3x)");
    s.read_timeout = duration(flat, "read-timeout", s.read_timeout, false);
    s.write_timeout = duration(flat, "write-timeout", s.write_timeout, false);
    s.keepalive = duration(flat, "keepalive", s.keepalive, true);
    s.startup_timeout = duration(flat, "startup-timeout", s.startup_timeout, true);
    s.drain_grace = duration(flat, "drain-grace", s.drain_grace, true);
    s.breaker_backoff = duration(flat, "breaker-backoff", s.breaker_backoff, false);
    s.breaker_max_backoff = duration(flat, "breaker-max-backoff", s.breaker_max_backoff, false);
    if (s.breaker_max_backoff < s.breaker_backoff)
        throw HostError(kConfig, "breaker_max_backoff (" + std::to_string(s.breaker_max_backoff.count()) +
                                     "ms) must not be shorter than breaker_backoff (" +
                                     std::to_string(s.breaker_backoff.count()) + "ms)");
    s.breaker_threshold = whole_number(flat, "breaker-threshold", s.breaker_threshold, 1000);
    if (auto it = flat.find("guard-fraction"); it != flat.end()) {
        char* end = nullptr;
        double f = std::strtod(it->second.value.c_str(), &end);
        if (it->second.value.empty() || *end != '\0' || !(f > 0.0 && f <= 1.0))
            throw HostError(kConfig, it->second.origin + ": guard_fraction = '" + it->second.value +
                                         "' is not a number above 0 and at most 1 (e.g. 0.5; 1 turns the guard off)");
        s.guard_fraction = f;
    }
    if (auto it = flat.find("enabled"); it != flat.end()) {
        auto b = muster::sdk::parse_bool(it->second.value);
        if (!b) throw HostError(kConfig, it->second.origin + ": enabled must be true or false");
        s.enabled = *b;
    }
    if (auto it = flat.find("write"); it != flat.end()) {
        if (it->second.value != "all" && it->second.value != "first")
            throw HostError(kConfig, it->second.origin + ": write must be \"all\" or \"first\"");
        s.write_first = it->second.value == "first";
    }
    if (cli.count("plugin-dir"))
        s.plugin_dirs = cli["plugin-dir"].as<std::vector<std::string>>();
    else if (auto it = flat.find("plugin-dir"); it != flat.end())
        s.plugin_dirs = split_list(it->second.value);
    if (auto it = flat.find("http"); it != flat.end()) s.http_listen = listen_address(it->second, "http");
    if (auto it = flat.find("dns"); it != flat.end()) s.dns_listen = listen_address(it->second, "dns");
    if (auto it = flat.find("dns-domain"); it != flat.end()) {
        std::string d = it->second.value;
        while (!d.empty() && d.back() == '.') d.pop_back();
        bool ok = !d.empty() && d.size() <= 200 && d.front() != '.' && d.find("..") == std::string::npos &&
                  d.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") == std::string::npos;
        if (!ok)
            throw HostError(kConfig, it->second.origin + ": dns_domain = '" + it->second.value +
                                         "' is not a domain name (lowercase letters, digits, '-' and dots)");
        s.dns_domain = d;
    }
    s.dns_ttl = duration(flat, "dns-ttl", s.dns_ttl, true);
    s.dns_stale_max = duration(flat, "dns-stale-max", s.dns_stale_max, true);
    if (auto it = flat.find("http-token-file"); it != flat.end()) {
        if (flat.count("http-token"))
            throw HostError(kConfig, it->second.origin + ": give http_token or http_token_file, not both");
        flat["http-token"] = {read_secret_file(it->second), it->second.origin + " (the file)"};
    }
    if (auto it = flat.find("http-token"); it != flat.end()) {
        // Never the value in a message: only its length.
        if (it->second.value.size() < kMinTokenBytes)
            throw HostError(kConfig, it->second.origin + ": http_token is " + std::to_string(it->second.value.size()) +
                                         " bytes; use at least " + std::to_string(kMinTokenBytes) +
                                         " (e.g. openssl rand -hex 16)");
        s.http_token = it->second.value;
    }
    if (auto it = flat.find("http-allow-anonymous-writes"); it != flat.end()) {
        auto b = muster::sdk::parse_bool(it->second.value);
        if (!b) throw HostError(kConfig, it->second.origin + ": http_allow_anonymous_writes must be true or false");
        s.http_allow_anonymous_writes = *b;
    }
    if (auto it = flat.find("http-allowed-hosts"); it != flat.end()) {
        s.http_allowed_hosts = split_list(it->second.value);
        for (auto& h : s.http_allowed_hosts) {
            std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
            if (h.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos)
                throw HostError(kConfig, it->second.origin + ": http_allowed_hosts: '" + h +
                                             "' is not a host name (no port, no scheme: e.g. muster.internal)");
        }
    }
    s.http_max_connections = whole_number(flat, "http-max-connections", s.http_max_connections, 100000);
    s.http_max_connections_per_client =
        whole_number(flat, "http-max-connections-per-client", s.http_max_connections_per_client, 100000);
    s.max_roles = whole_number(flat, "max-roles", s.max_roles, 1000000);
    s.role_idle = duration(flat, "role-idle", s.role_idle, false);
    if (auto it = flat.find("log-level"); it != flat.end()) {
        static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
        if (!levels.count(it->second.value))
            throw HostError(kConfig, it->second.origin + ": log level '" + it->second.value +
                                         "' is not one of trace, debug, info, warn, error, off");
        s.log_level = it->second.value;
    }

    // The chain: explicit, or derived from the seed's [database] and [queue],
    // or the embedded default (catalog-sqlite on ./muster.db).
    bool explicit_chain = flat.count("chain") > 0;
    if (explicit_chain) s.chain = parse_chain(flat["chain"]);
    auto seed_backend = [&](const std::string& name) -> BackendSpec& {
        if (BackendSpec* b = find_backend(s.chain, name)) return *b;
        s.chain.push_back({name, name, false, {}, {}});
        return s.chain.back();
    };
    if (auto it = flat.find("queue-kind"); it != flat.end()) {
        if (it->second.value != "nats")
            throw HostError(
                kConfig, it->second.origin + ": queue kind '" + it->second.value + "' is not supported (use \"nats\")");
        if (!explicit_chain || find_backend(s.chain, "nats-kv")) {
            BackendSpec& b = seed_backend("nats-kv");
            if (auto u = flat.find("queue-url"); u != flat.end())
                set_option(b, "url", u->second.value, u->second.origin);
        }
    } else if (auto u = flat.find("queue-url"); u != flat.end()) {
        throw HostError(kConfig, u->second.origin + ": a queue url needs kind = \"nats\" in [queue]");
    }
    if (auto it = flat.find("database-url"); it != flat.end()) {
        const std::string& url = it->second.value;
        if (url.rfind("sqlite://", 0) == 0) {
            std::string path = url.substr(9);
            if (path.empty())
                throw HostError(kConfig,
                                it->second.origin + ": sqlite:// URL has no file name (e.g. sqlite://muster.db)");
            if (!explicit_chain || find_backend(s.chain, "catalog-sqlite"))
                set_option(seed_backend("catalog-sqlite"), "path", path, it->second.origin);
        } else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
            if (!explicit_chain || find_backend(s.chain, "catalog-postgres"))
                set_option(seed_backend("catalog-postgres"), "url", url, it->second.origin);
        } else {
            throw HostError(kConfig, it->second.origin + ": database url must start with sqlite:// or postgresql://");
        }
    }
    if (s.chain.empty()) s.chain.push_back({"catalog-sqlite", "catalog-sqlite", false, {}, {}});

    // Backend options: [backend.NAME] in the file, --backend-option NAME.key=value.
    for (const auto& e : backend_entries) {
        std::string name = e.section.substr(8), where = config_path + ":" + std::to_string(e.line);
        BackendSpec* b = find_backend(s.chain, name);
        if (!b) {
            if (s.unused_backends.empty() || s.unused_backends.back().first != name)
                s.unused_backends.emplace_back(name, where);
            continue;
        }
        set_option(*b, e.key, e.value, where);
    }
    if (cli.count("backend-option"))
        for (const auto& kv : cli["backend-option"].as<std::vector<std::string>>()) {
            auto dot = kv.find('.'), eq = kv.find('=');
            if (dot == std::string::npos || eq == std::string::npos || dot > eq)
                throw HostError(kUsage, "--backend-option '" + kv + "' is not NAME.key=value");
            std::string name = kv.substr(0, dot);
            BackendSpec* b = find_backend(s.chain, name);
            if (!b) throw HostError(kConfig, "--backend-option: '" + name + "' is not in the chain");
            set_option(*b, kv.substr(dot + 1, eq - dot - 1), kv.substr(eq + 1), "command line --backend-option");
        }
    for (const auto& e : health_entries) s.health_options[e.section.substr(7)].emplace_back(e.key, e.value);

    // Services from [service.NAME] sections.
    for (const auto& e : service_entries) {
        std::string name = e.section.substr(8), where = config_path + ":" + std::to_string(e.line);
        ServiceSpec* svc = nullptr;
        for (auto& x : s.services)
            if (x.name == name) svc = &x;
        if (!svc) {
            s.services.push_back({name, {}, {}, {}, {}, {}, {}, config_path + " [service." + name + "]"});
            svc = &s.services.back();
        }
        if (e.key == "role")
            svc->role = e.value;
        else if (e.key == "address")
            svc->address = e.value;
        else if (e.key == "id")
            svc->id = e.value;
        else if (e.key == "checks")
            svc->checks = split_list(e.value);
        else if (e.key == "depends_on")
            svc->depends_on = parse_depends_on(e.value, where);
        else if (e.key.rfind("meta.", 0) == 0)
            svc->metadata[e.key.substr(5)] = e.value;
        else
            throw HostError(kConfig, where + ": unknown key '" + e.key + "' in [service." + name +
                                         "] (role, address, id, checks, depends_on, meta.KEY)");
    }
    for (const auto& svc : s.services)
        if (svc.role.empty() || svc.address.empty())
            throw HostError(kConfig, svc.origin + ": a service needs both role and address");
    return s;
}

}  // namespace

Settings load_settings(const po::variables_map& cli) { return load(cli, std::nullopt); }

Settings load_settings(const std::vector<std::string>& args, const std::optional<std::string>& config_text) {
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(common_options()).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw HostError(kUsage, std::string(e.what()));
    }
    if (config_text && vm.count("config"))
        throw HostError(kUsage, "give the configuration as a file or as text, not both");
    return load(vm, config_text);
}

}  // namespace host
