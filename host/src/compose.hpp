// Turns Settings into running parts: loads the chain's plugins, checks
// their options against each plugin's schema (naming where a bad option was
// set), creates the backends and the chain.
#pragma once

#include "settings.hpp"

#include <muster/core/chain.hpp>
#include <muster/core/health_client.hpp>
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
// libmuster); throws HostError(kConfig) if a configured directory does not
// exist.
muster::core::PluginLoader make_loader(
    const Settings& s, const std::filesystem::path& builtin = muster::core::PluginLoader::default_plugin_dir());

// What a command does when no backend is available at start-up: one-shot
// commands (list, status, deregister, reap) fail at once with exit 5; run
// and watch go on, and each backend joins the chain when it answers.
enum class Startup { fail_fast, keep_trying };

// Loads and checks every plugin of the chain and of every [check.NAME]
// without creating anything (so bad configuration writes nothing), then
// creates the backends in parallel. Throws HostError: kPlugin, kConfig, or
// kUnavailable (fail_fast only).
std::unique_ptr<Runtime> compose(
    const Settings& s, Startup startup,
    const std::filesystem::path& builtin = muster::core::PluginLoader::default_plugin_dir());

// The check an operator's service names ([service] checks, --check): a
// [check.NAME] definition, else a health-check plugin of that name with its
// [health.NAME] options, check_interval and check_timeout. Loads and
// creates the plugin; throws HostError (kPlugin, kConfig).
muster::core::CheckSpec make_check(Runtime& rt, const Settings& s, const std::string& name);

// The check a request names (PUT /v1/instances, muster_register) for an
// instance at `address`: only a [check.NAME] the operator configured, made
// from the plugin loaded at composition (never a path or a bare plugin
// name: nothing is loaded because of a request). A check whose options
// carry a secret (an HTTP header, say) is attached only to addresses its
// allow_addresses lists, so a registrant cannot have the secret sent to a
// host of its choosing. Throws HostError(kUsage) with a message that says
// nothing of the file system.
muster::core::CheckSpec requested_check(const Runtime& rt, const Settings& s, const std::string& name,
                                        const std::string& address);

muster::core::RegistryOptions registry_options(const Settings& s);

}  // namespace host
