#include <muster/core/host_services.hpp>
#include <muster/core/plugin_loader.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <cstring>
#include <map>
#include <mutex>

namespace muster::core {

namespace {

using K = LoadError::Kind;

// Loaded libraries and their plugins, by canonical path. Never freed: a
// plugin's threads, vtables and strings must outlive every user (rule L4).
struct Resident {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<const LoadedPlugin>> plugins;
    std::vector<boost::dll::shared_library>* libraries = new std::vector<boost::dll::shared_library>();
};
Resident& resident() {
    static Resident* r = new Resident();
    return *r;
}

constexpr std::size_t backend_v1_0_size = MUSTER_SIZE_THROUGH(muster_backend_v1, unwatch);
constexpr std::size_t health_v1_0_size = MUSTER_SIZE_THROUGH(muster_health_v1, check);

std::string version_text(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

void check_backend(const std::string& where, const muster_backend_v1* v) {
    if (v->struct_size < backend_v1_0_size)
        throw LoadError(K::bad_descriptor, where + ": backend struct_size " + std::to_string(v->struct_size) +
                                               " is smaller than ABI 1.0's " + std::to_string(backend_v1_0_size));
    if (!v->name || !v->create || !v->destroy || !v->register_instance || !v->heartbeat || !v->deregister || !v->list)
        throw LoadError(K::bad_descriptor, where + ": backend lacks a name or a required function");
    if ((v->capabilities & MUSTER_BACKEND_CAP_WATCH) && (!v->watch || !v->unwatch))
        throw LoadError(K::bad_descriptor, where + ": backend claims watch but has no watch/unwatch");
    if ((v->capabilities & MUSTER_BACKEND_CAP_REAP) && !v->reap)
        throw LoadError(K::bad_descriptor, where + ": backend claims reap but has no reap");
    if (v->option_count > 0 && !v->options)
        throw LoadError(K::bad_descriptor, where + ": backend declares options but the schema is NULL");
    for (std::size_t i = 0; i < v->option_count; ++i)
        if (!v->options[i].name || v->options[i].type > MUSTER_OPT_DURATION)
            throw LoadError(K::bad_descriptor, where + ": backend option " + std::to_string(i) + " is malformed");
}

void check_health(const std::string& where, const muster_health_v1* v) {
    if (v->struct_size < health_v1_0_size || !v->name || !v->create || !v->destroy || !v->check ||
        (v->option_count > 0 && !v->options))
        throw LoadError(K::bad_descriptor, where + ": health-check struct is too small or incomplete");
}

std::shared_ptr<const LoadedPlugin> open(const std::filesystem::path& path) {
    const std::string where = "plugin " + path.string();
    boost::dll::shared_library lib;
    boost::dll::fs::error_code ec;
    lib.load(path.string(), ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (ec) throw LoadError(K::not_a_shared_object, where + " cannot be loaded as a shared object: " + ec.message());
    if (!lib.has(MUSTER_ENTRY_SYMBOL))
        throw LoadError(K::no_entry_point,
                        where + " does not export " MUSTER_ENTRY_SYMBOL ": it is not a muster plugin");
    auto negotiate = lib.get<std::remove_pointer_t<muster_plugin_negotiate_fn>>(MUSTER_ENTRY_SYMBOL);
    muster_negotiation in{sizeof(muster_negotiation), MUSTER_ABI_MAJOR, MUSTER_ABI_MINOR, 0,
                          HostServices::instance().table()};
    const muster_plugin_descriptor* d = nullptr;
    muster_error err{};
    muster_status st = negotiate(&in, &d, &err);
    if (!d || d->struct_size < sizeof(muster_plugin_descriptor) || !d->name)
        throw LoadError(K::bad_descriptor, where + " answered negotiation without a valid descriptor");
    if (d->abi_major != MUSTER_ABI_MAJOR)
        throw LoadError(K::abi_mismatch, where + " ('" + d->name + "') is built for muster ABI " +
                                             version_text(d->abi_major, d->abi_minor) + " but this host serves ABI " +
                                             version_text(MUSTER_ABI_MAJOR, MUSTER_ABI_MINOR) +
                                             ": rebuild it against muster-sdk " + std::to_string(MUSTER_ABI_MAJOR) +
                                             ".x");
    if (st != MUSTER_OK)
        throw LoadError(K::abi_mismatch, where + " refused this host (ABI " +
                                             version_text(MUSTER_ABI_MAJOR, MUSTER_ABI_MINOR) + "): " + err.message);
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->path = path;
    plugin->descriptor = d;
    if (d->kind_count > 0 && !d->kinds) throw LoadError(K::bad_descriptor, where + ": kinds is NULL");
    for (std::size_t i = 0; i < d->kind_count; ++i) {
        const muster_kind& k = d->kinds[i];
        if (!k.kind || !k.vtable)
            throw LoadError(K::bad_descriptor, where + ": kind " + std::to_string(i) + " is NULL");
        if (std::strcmp(k.kind, MUSTER_KIND_BACKEND) == 0) {
            plugin->backend = static_cast<const muster_backend_v1*>(k.vtable);
            check_backend(where, plugin->backend);
        } else if (std::strcmp(k.kind, MUSTER_KIND_HEALTH) == 0) {
            plugin->health = static_cast<const muster_health_v1*>(k.vtable);
            check_health(where, plugin->health);
        }
        // Kinds this host does not know (a later major, another product) are
        // ignored: a plugin may serve several hosts.
    }
    resident().libraries->push_back(std::move(lib));
    return plugin;
}

}  // namespace

PluginLoader::PluginLoader(std::vector<std::filesystem::path> plugin_dirs) : dirs_(std::move(plugin_dirs)) {}

std::filesystem::path PluginLoader::default_plugin_dir() {
    auto exe = std::filesystem::path(boost::dll::program_location().string());
    return (exe.parent_path() / MUSTER_PLUGIN_DIR_FROM_BIN).lexically_normal();
}

std::optional<std::filesystem::path> PluginLoader::find(const std::string& name) const {
    for (const auto& dir : dirs_) {
        std::error_code ec;
        auto canonical = std::filesystem::canonical(dir / (name + ".so"), ec);
        if (!ec && std::filesystem::is_regular_file(canonical)) return canonical;
    }
    return std::nullopt;
}

std::shared_ptr<const LoadedPlugin> PluginLoader::load(const std::string& name_or_path) const {
    std::error_code ec;
    std::filesystem::path canonical;
    if (name_or_path.find('/') != std::string::npos) {
        canonical = std::filesystem::canonical(name_or_path, ec);
        if (ec || !std::filesystem::is_regular_file(canonical))
            throw LoadError(K::not_found, "plugin file " + name_or_path + " not found");
    } else {
        if (name_or_path.empty()) throw LoadError(K::not_found, "plugin name is empty");
        auto found = find(name_or_path);
        if (!found) {
            std::string searched;
            for (const auto& dir : dirs_) searched += (searched.empty() ? "" : ", ") + dir.string();
            throw LoadError(K::not_found, "plugin '" + name_or_path + "' not found in " + searched +
                                              " (add a directory with --plugin-dir, or give the file's path)");
        }
        canonical = *found;
    }
    auto& r = resident();
    std::lock_guard lk(r.mu);
    auto it = r.plugins.find(canonical.string());
    if (it != r.plugins.end()) return it->second;
    auto plugin = open(canonical);
    r.plugins.emplace(canonical.string(), plugin);
    return plugin;
}

std::vector<PluginLoader::Entry> PluginLoader::scan() const {
    std::vector<Entry> out;
    std::map<std::string, std::filesystem::path> first;  // file name -> where it is found by name
    for (const auto& dir : dirs_) {
        std::vector<std::filesystem::path> files;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(dir, ec))
            if (e.path().extension() == ".so") files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            Entry entry{f, nullptr, {}};
            if (auto [it, fresh] = first.emplace(f.filename().string(), f); !fresh) {
                entry.error = "shadowed by " + it->second.string() + " (found first by name)";
            } else {
                try {
                    entry.plugin = load(f.string());
                } catch (const std::exception& ex) {
                    entry.error = ex.what();
                }
            }
            out.push_back(std::move(entry));
        }
    }
    return out;
}

}  // namespace muster::core
