#include "compose.hpp"

#include "address_pattern.hpp"
#include "exit_codes.hpp"

#include <muster/cpp/error.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

#include <muster/core/log.hpp>

namespace host {

namespace {

std::shared_ptr<const muster::core::LoadedPlugin> load(Runtime& rt, const std::string& name) {
    try {
        return rt.loader.load(name);
    } catch (const muster::core::LoadError& e) {
        throw HostError(kPlugin, e.what());
    }
}

// Each option on its own against the schema, so the error names where it was set.
void check_backend_options(const BackendSpec& b, const muster_backend_v1& vt) {
    for (const auto& [key, value] : b.options) {
        const muster_option_spec* spec = nullptr;
        for (std::size_t i = 0; i < vt.option_count; ++i)
            if (key == vt.options[i].name) spec = &vt.options[i];
        std::map<std::string, std::string> out;
        std::string problem = spec ? muster::sdk::check_options(spec, 1, {{key, value}}, out)
                                   : muster::sdk::check_options(vt.options, vt.option_count, {{key, value}}, out);
        if (!spec || !problem.empty())
            throw HostError(kConfig, b.origins.at(key) + ": backend " + b.name + ": " + problem);
    }
    std::map<std::string, std::string> out;
    if (auto problem = muster::sdk::check_options(vt.options, vt.option_count, b.options, out); !problem.empty())
        throw HostError(kConfig, "[backend." + b.name + "]: " + problem);
}

}  // namespace

muster::core::PluginLoader make_loader(const Settings& s, const std::filesystem::path& builtin) {
    std::vector<std::filesystem::path> dirs;
    for (const auto& d : s.plugin_dirs) {
        std::error_code ec;
        if (!std::filesystem::is_directory(d, ec))
            throw HostError(kConfig, "plugin directory '" + d + "' does not exist (fix plugin_dir or --plugin-dir)");
        dirs.push_back(d);
    }
    dirs.push_back(builtin);  // the bundled plugins, last
    return muster::core::PluginLoader(dirs);
}

std::unique_ptr<Runtime> compose(const Settings& s, Startup startup, const std::filesystem::path& builtin) {
    auto rt = std::make_unique<Runtime>(make_loader(s, builtin));
    for (const auto& [name, where] : s.unused_backends) {
        if (!rt->loader.find(name))
            throw HostError(kConfig, where + ": [backend." + name + "] names no plugin (no " + name +
                                         ".so in the plugin directories; `muster-host plugins` lists them)");
        muster::core::log::debug("{}: [backend.{}] is not in the chain; its options are unused", where, name);
    }
    std::vector<muster::core::Link> links;
    for (const auto& b : s.chain) {
        auto p = load(*rt, b.plugin);
        if (!p->backend)
            throw HostError(kPlugin, "plugin '" + b.name + "' provides no backend, so it cannot be in the chain");
        check_backend_options(b, *p->backend);
        links.push_back({muster::core::BackendClient::prepare(p, b.options, s.ttl.count()), b.return_on_empty});
    }
    for (const auto& [name, def] : s.checks) {
        auto p = load(*rt, def.plugin);
        if (!p->health) throw HostError(kPlugin, def.origin + ": plugin '" + def.plugin + "' provides no health check");
        rt->check_plugins.emplace(name, std::move(p));
    }
    muster::core::ChainOptions o;
    o.write = s.write_first ? muster::core::WriteMode::first : muster::core::WriteMode::all;
    // A store that is down is probed at least once per heartbeat interval,
    // so that it gets this process's registrations within about one
    // heartbeat of its return.
    auto max_backoff = std::max(s.breaker_backoff, std::min(s.breaker_max_backoff, s.heartbeat_interval));
    o.breaker = {s.breaker_threshold, s.breaker_backoff, max_backoff};
    o.read_timeout = s.read_timeout;
    o.write_timeout = s.write_timeout;
    o.keepalive = s.keepalive;
    rt->chain = std::make_shared<muster::core::Chain>(std::move(links), o);
    // Every backend is created at once, in parallel. With several links a
    // slow one is not waited for longer than a read would wait; alone, it
    // gets its own connect timeout.
    auto wait = s.chain.size() > 1 ? s.read_timeout : std::chrono::milliseconds(60000);
    auto opened = rt->chain->open_all(wait);
    bool any = false;
    std::string last_failure;
    for (std::size_t i = 0; i < opened.size(); ++i) {
        const auto& r = opened[i];
        if (r.ok()) {
            any = true;
            continue;
        }
        // The store answered and refused the configuration: no retry helps.
        if (!muster::core::Chain::moves_on(r.status)) throw HostError(kConfig, r.message);
        last_failure = r.message;
        if (startup == Startup::keep_trying || s.chain.size() > 1)
            muster::core::log::warn("backend {} is not available ({}); going on without it until it answers",
                                    s.chain[i].name, r.message);
    }
    if (!any && startup == Startup::fail_fast)
        throw HostError(kUnavailable, "no backend of the chain is available: " + last_failure);
    return rt;
}

namespace {

// The spec of a check from its plugin and options; `name` is the check's
// (a [check.NAME] or the plugin's).
muster::core::CheckSpec check_of(const std::shared_ptr<const muster::core::LoadedPlugin>& p, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& options) {
    if (!p->health) throw HostError(kPlugin, "plugin '" + p->name() + "' provides no health check");
    muster::core::CheckSpec spec;
    spec.name = name;
    try {
        spec.client = muster::core::HealthClient::create(p, options);
    } catch (const muster::sdk::Error& e) {
        throw HostError(kConfig, (name == p->name() ? "" : "check " + name + ": ") + std::string(e.what()));
    }
    return spec;
}

void take_timing(muster::core::CheckSpec& spec, const CheckDef& d) {
    spec.interval = d.interval;
    spec.timeout = d.timeout;
    spec.success_before_passing = d.success_before_passing;
    spec.failures_before_critical = d.failures_before_critical;
    spec.deregister_critical_after = d.deregister_critical_after;
}

// True when one of the plugin's options that `options` sets is declared secret.
bool sets_a_secret(const muster_health_v1& vt, const std::vector<std::pair<std::string, std::string>>& options) {
    for (const auto& [key, value] : options)
        for (std::size_t i = 0; i < vt.option_count; ++i)
            if (key == vt.options[i].name && (vt.options[i].flags & MUSTER_OPT_SECRET)) return true;
    return false;
}

}  // namespace

muster::core::CheckSpec make_check(Runtime& rt, const Settings& s, const std::string& name) {
    if (auto def = s.checks.find(name); def != s.checks.end()) {
        auto spec = check_of(rt.check_plugins.at(name), name, def->second.options);
        take_timing(spec, def->second);
        return spec;
    }
    std::vector<std::pair<std::string, std::string>> options;
    if (auto it = s.health_options.find(name); it != s.health_options.end()) options = it->second;
    auto spec = check_of(load(rt, name), name, options);
    spec.interval = s.check_interval;
    spec.timeout = s.check_timeout;
    return spec;
}

muster::core::CheckSpec requested_check(const Runtime& rt, const Settings& s, const std::string& name,
                                        const std::string& address) {
    auto def = s.checks.find(name);
    auto plugin = rt.check_plugins.find(name);
    if (def == s.checks.end() || plugin == rt.check_plugins.end()) {
        std::string known;
        for (const auto& [n, d] : s.checks) known += (known.empty() ? "" : ", ") + n;
        throw HostError(kUsage, "check '" + muster::sdk::utf8_line(name.substr(0, 64)) +
                                    "' is not a [check.NAME] this agent's operator configured (configured: " +
                                    (known.empty() ? "none" : known) + ")");
    }
    const CheckDef& d = def->second;
    if (sets_a_secret(*plugin->second->health, d.options) && !address_allowed(d.allow_addresses, address))
        throw HostError(kUsage, "check '" + name + "' carries a secret and may only be attached to the addresses its " +
                                    "allow_addresses lists; " + muster::sdk::utf8_line(address.substr(0, 64)) +
                                    " is not among them");
    auto spec = check_of(plugin->second, name, d.options);
    take_timing(spec, d);
    return spec;
}

muster::core::RegistryOptions registry_options(const Settings& s) {
    muster::core::RegistryOptions o;
    o.heartbeat_interval = s.heartbeat_interval;
    o.ttl = s.ttl;
    o.dependency_severity = s.dependency_severity;
    o.check_workers = static_cast<std::size_t>(s.check_workers);
    o.reap_interval = s.reap_interval;
    o.reap_retain = s.reap_retain;
    o.guard_fraction = s.guard_fraction;
    o.max_roles = static_cast<std::size_t>(s.max_roles);
    o.role_idle = s.role_idle;
    o.cache_refresh = std::min(std::chrono::milliseconds(1000), s.heartbeat_interval);
    return o;
}

}  // namespace host
