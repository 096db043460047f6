// Loads plugin shared objects over Boost.DLL: by name from a plugin
// directory or by absolute path, RTLD_NOW | RTLD_LOCAL, negotiates the ABI
// and checks every kind's struct before the core touches it. Libraries stay
// loaded for the life of the process, so nothing of theirs outlives them.
#pragma once

#include <muster/muster.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace muster::core {

// Why a plugin could not be loaded; the message is one line for people.
class LoadError : public std::runtime_error {
public:
    enum class Kind { not_found, not_a_shared_object, no_entry_point, abi_mismatch, bad_descriptor };
    LoadError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

// A negotiated plugin. Its pointers stay valid for the process.
struct LoadedPlugin {
    std::filesystem::path path;
    const muster_plugin_descriptor* descriptor = nullptr;
    const muster_backend_v1* backend = nullptr;  // nullptr: provides no backend
    const muster_health_v1* health = nullptr;    // nullptr: provides no health check
    std::string name() const { return descriptor->name; }
};

class PluginLoader {
public:
    // Names are looked up in `plugin_dirs`, in order; the default is
    // default_plugin_dir() alone.
    explicit PluginLoader(std::vector<std::filesystem::path> plugin_dirs = {default_plugin_dir()});
    explicit PluginLoader(std::filesystem::path plugin_dir)
            : PluginLoader(std::vector<std::filesystem::path>{std::move(plugin_dir)}) {}

    // The plugin directory beside the running program: <bindir>/../lib/muster/plugins,
    // which holds for the build tree and for an installed tree alike.
    static std::filesystem::path default_plugin_dir();

    const std::vector<std::filesystem::path>& plugin_dirs() const { return dirs_; }

    // Loads "NAME" (NAME.so from the first plugin directory that has it) or
    // a path (anything containing '/'). Loading the same file twice returns
    // the same plugin. Throws LoadError.
    std::shared_ptr<const LoadedPlugin> load(const std::string& name_or_path) const;
    // The file load("NAME") would open (its canonical path), without
    // loading it; nullopt when no plugin directory has NAME.so.
    std::optional<std::filesystem::path> find(const std::string& name) const;

    // Every *.so in the plugin directories, in search order, loaded or with
    // the reason it was not (a file whose name an earlier directory already
    // has is "shadowed").
    struct Entry {
        std::filesystem::path path;
        std::shared_ptr<const LoadedPlugin> plugin;
        std::string error;
    };
    std::vector<Entry> scan() const;

private:
    std::vector<std::filesystem::path> dirs_;
};

}  // namespace muster::core
