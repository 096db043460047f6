#include "node.hpp"

#include "setup_error.hpp"

#include <muster/cpp/error.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

#include <muster/core/log.hpp>

namespace host {

namespace {

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
            throw SetupError(Fault::config, b.origins.at(key) + ": backend " + b.name + ": " + problem);
    }
    std::map<std::string, std::string> out;
    if (auto problem = muster::sdk::check_options(vt.options, vt.option_count, b.options, out); !problem.empty())
        throw SetupError(Fault::config, "[backend." + b.name + "]: " + problem);
}

}  // namespace

std::shared_ptr<const muster::core::LoadedPlugin> load_plugin(const Runtime& rt, const std::string& name_or_path) {
    try {
        return rt.loader.load(name_or_path);
    } catch (const muster::core::LoadError& e) {
        using Kind = muster::core::LoadError::Kind;
        muster_status status = e.kind() == Kind::not_found      ? MUSTER_NOT_FOUND
                               : e.kind() == Kind::abi_mismatch ? MUSTER_UNSUPPORTED
                                                                : MUSTER_INVALID_ARGUMENT;
        throw SetupError(Fault::plugin, status, e.what());
    }
}

muster::core::PluginLoader make_loader(const Settings& s, const std::filesystem::path& builtin) {
    std::vector<std::filesystem::path> dirs;
    for (const auto& d : s.plugin_dirs) {
        std::error_code ec;
        if (!std::filesystem::is_directory(d, ec))
            throw SetupError(Fault::config,
                             "plugin directory '" + d + "' does not exist (fix plugin_dir or --plugin-dir)");
        dirs.push_back(d);
    }
    dirs.push_back(builtin);  // the bundled plugins, last
    return muster::core::PluginLoader(dirs);
}

std::unique_ptr<Runtime> compose(const Settings& s, Startup startup, const std::filesystem::path& builtin) {
    auto rt = std::make_unique<Runtime>(make_loader(s, builtin));
    for (const auto& [name, where] : s.unused_backends) {
        if (!rt->loader.find(name))
            throw SetupError(Fault::config, where + ": [backend." + name + "] names no plugin (no " + name +
                                                ".so in the plugin directories; `muster-host plugins` lists them)");
        muster::core::log::debug("{}: [backend.{}] is not in the chain; its options are unused", where, name);
    }
    std::vector<muster::core::Link> links;
    for (const auto& b : s.chain) {
        auto p = load_plugin(*rt, b.plugin);
        if (!p->backend)
            throw SetupError(Fault::plugin, MUSTER_UNSUPPORTED,
                             "plugin '" + b.name + "' provides no backend, so it cannot be in the chain");
        check_backend_options(b, *p->backend);
        links.push_back(
            {muster::core::BackendClient::prepare(p, b.options, s.registry.ttl.count()), b.return_on_empty});
    }
    for (const auto& [name, def] : s.checks) {
        auto p = load_plugin(*rt, def.plugin);
        if (!p->health)
            throw SetupError(Fault::plugin, MUSTER_UNSUPPORTED,
                             def.origin + ": plugin '" + def.plugin + "' provides no health check");
        rt->check_plugins.emplace(name, std::move(p));
    }
    muster::core::ChainOptions o = s.chain_options;
    // A store that is down is probed at least once per heartbeat interval,
    // so that it gets this process's registrations within about one
    // heartbeat of its return.
    o.breaker.max_backoff =
        std::max(o.breaker.initial_backoff, std::min(o.breaker.max_backoff, s.registry.heartbeat_interval));
    rt->chain = std::make_shared<muster::core::Chain>(std::move(links), o);
    // Every backend is created at once, in parallel. With several links a
    // slow one is not waited for longer than a read would wait; alone, it
    // gets its own connect timeout.
    auto wait = s.chain.size() > 1 || startup == Startup::in_background ? s.chain_options.read_timeout
                                                                        : std::chrono::milliseconds(60000);
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
        if (!muster::core::Chain::moves_on(r.status)) throw SetupError(Fault::config, r.status, r.message);
        last_failure = r.message;
        if (startup != Startup::fail_fast || s.chain.size() > 1)
            muster::core::log::warn("backend {} is not available ({}); going on without it until it answers",
                                    s.chain[i].name, r.message);
    }
    if (!any && startup == Startup::fail_fast)
        throw SetupError(Fault::store, "no backend of the chain is available: " + last_failure);
    return rt;
}

muster::core::RegistryOptions registry_options(const Settings& s) {
    muster::core::RegistryOptions o = s.registry;
    o.cache_refresh = std::min(std::chrono::milliseconds(1000), s.registry.heartbeat_interval);
    return o;
}

Node::Node(Settings settings, Startup startup, const std::filesystem::path& builtin)
        : settings_(std::move(settings)),
          runtime_(compose(settings_, startup, builtin)),
          registry_(std::make_unique<muster::core::Registry>(runtime_->chain, registry_options(settings_))),
          regions_(std::make_unique<Regions>(settings_, *registry_, builtin)) {}

}  // namespace host
