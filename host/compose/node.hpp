// Turns Settings into running parts: loads the chain's plugins, checks
// their options against each plugin's schema (naming where a bad option was
// set), creates the backends and the chain (compose), and the registry on
// top (Node). Every front end stands on these: the CLI, the agent and
// libmuster.
#pragma once

#include "regions.hpp"
#include "registration.hpp"
#include "settings.hpp"

#include <muster/core/chain.hpp>
#include <muster/core/plugin_loader.hpp>
#include <muster/core/registry.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace host {

struct Runtime {
    explicit Runtime(muster::core::PluginLoader l) : loader(std::move(l)) {}
    muster::core::PluginLoader loader;
    std::shared_ptr<muster::core::Chain> chain;
    // The plugin of each [check.NAME], loaded at composition: a check a
    // request names is made from these alone, so no request loads code.
    std::map<std::string, std::shared_ptr<const muster::core::LoadedPlugin>> check_plugins;
};

// The loader for the configured plugin directories, then `builtin` (the
// bundled plugins: lib/muster/plugins beside the program, or beside
// libmuster); throws SetupError(config) if a configured directory does not
// exist.
muster::core::PluginLoader make_loader(
    const Settings& s, const std::filesystem::path& builtin = muster::core::PluginLoader::default_plugin_dir());

// Loads a plugin by name or path. Throws SetupError(plugin) whose status
// says what happened: NOT_FOUND (no such plugin), UNSUPPORTED (built for
// another ABI), INVALID_ARGUMENT (the file is no muster plugin).
std::shared_ptr<const muster::core::LoadedPlugin> load_plugin(const Runtime& rt, const std::string& name_or_path);

// What to do when no backend is available at start-up: one-shot work
// (list, status, deregister, reap) fails at once; a node that lives (run,
// watch, libmuster) goes on, and each backend joins the chain when it
// answers.
// Another region's node (regions.hpp) starts like keep_trying but waits
// no longer than a read for its stores: a region that is away must not
// delay the start of this one.
enum class Startup { fail_fast, keep_trying, in_background };

// Loads and checks every plugin of the chain and of every [check.NAME]
// without creating anything (so bad configuration writes nothing), then
// creates the backends in parallel. Throws SetupError: plugin, config, or
// store (fail_fast only).
std::unique_ptr<Runtime> compose(
    const Settings& s, Startup startup,
    const std::filesystem::path& builtin = muster::core::PluginLoader::default_plugin_dir());

muster::core::RegistryOptions registry_options(const Settings& s);

// Everything one process discovers with: its settings, the composed chain
// and the registry that registers, heartbeats, caches and watches on it.
// THREADING: the parts are thread-safe; the Node itself is not changed
// after construction.
class Node {
public:
    Node(Settings settings, Startup startup,
         const std::filesystem::path& builtin = muster::core::PluginLoader::default_plugin_dir());

    const Settings& settings() const { return settings_; }
    const Runtime& runtime() const { return *runtime_; }
    muster::core::Chain& chain() { return *runtime_->chain; }
    muster::core::Registry& registry() { return *registry_; }
    // The local-first view over this node's region and the others
    // (docs/regions.md); without regions, the local registry alone.
    Regions& regions() { return *regions_; }

    // build_instance on this node's settings and plugins.
    muster::core::InstanceSpec instance(const RegistrationRequest& r, CheckAuthority who) const {
        return build_instance(*runtime_, settings_, r, who);
    }

private:
    Settings settings_;
    std::unique_ptr<Runtime> runtime_;
    std::unique_ptr<muster::core::Registry> registry_;
    std::unique_ptr<Regions> regions_;  // after registry_: it refers to it
};

}  // namespace host
