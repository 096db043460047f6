// Opening and closing a client: settings as muster-host reads them, and a
// node of the composition layer on them.
#include "handles.hpp"

#include <muster/core/log.hpp>

#include <dlfcn.h>

#include <filesystem>
#include <optional>
#include <thread>

namespace {

// lib/muster/plugins beside this library, wherever it was installed (the
// relative path is fixed at build time: MUSTER_PLUGIN_DIR_FROM_LIB).
std::filesystem::path plugins_beside_library() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&muster_client_version), &info) == 0 || !info.dli_fname)
        return muster::core::PluginLoader::default_plugin_dir();
    std::error_code ec;
    auto lib = std::filesystem::canonical(info.dli_fname, ec);
    if (ec) return muster::core::PluginLoader::default_plugin_dir();
    return (lib.parent_path() / MUSTER_PLUGIN_DIR_FROM_LIB).lexically_normal();
}

host::SettingsSource source_of(const muster_client_config& c) {
    host::SettingsSource source;
    if (c.config_path) source.config_path = c.config_path;
    if (c.config_text) source.config_text = c.config_text;
    client::check_array(c.settings, c.settings_count, "settings");
    for (std::size_t i = 0; i < c.settings_count; ++i) {
        const muster_kv& kv = c.settings[i];
        if (!kv.key || !kv.value)
            throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT,
                                     "settings[" + std::to_string(i) + "] has a NULL key or value");
        source.overrides.emplace_back(kv.key, kv.value);
    }
    return source;
}

}  // namespace

extern "C" {

MUSTER_CLIENT_API uint32_t muster_client_version(void) {
    return (MUSTER_CLIENT_VERSION_MAJOR << 16) | MUSTER_CLIENT_VERSION_MINOR;
}

MUSTER_CLIENT_API void muster_set_log(muster_log_fn fn, void* user) {
    if (!fn) return muster::core::log::send_to({});
    muster::core::log::send_to([fn, user](spdlog::level::level_enum level, const std::string& message) {
        muster_log_level l = level <= spdlog::level::trace   ? MUSTER_LOG_TRACE
                             : level == spdlog::level::debug ? MUSTER_LOG_DEBUG
                             : level == spdlog::level::info  ? MUSTER_LOG_INFO
                             : level == spdlog::level::warn  ? MUSTER_LOG_WARN
                                                             : MUSTER_LOG_ERROR;
        fn(user, l, message.c_str());
    });
}

MUSTER_CLIENT_API muster_status muster_client_open(const muster_client_config* config, muster_client** out,
                                                   muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!out) return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "out is NULL");
        *out = nullptr;
        muster_client_config c = config ? client::versioned(config, "config") : muster_client_config{};
        if (c.config_path && c.config_text)
            return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "give config_path or config_text, not both");
        auto settings = host::load_settings(source_of(c));
        muster::core::log::set_level(spdlog::level::from_str(settings.log_level.value_or("warn")));
        auto cl = std::make_unique<muster_client>();
        cl->node =
            std::make_unique<host::Node>(std::move(settings), host::Startup::keep_trying, plugins_beside_library());
        *out = cl.release();
        return MUSTER_OK;
    });
}

MUSTER_CLIENT_API void muster_client_close(muster_client* client) {
    if (!client) return;
    // From a callback, the client's watches cannot end here: the watch
    // thread may be this one. Another thread closes it once the callback
    // returns.
    if (client::InCallback::of(nullptr)) {
        std::thread([client] { delete client; }).detach();
        return;
    }
    delete client;
}

}  // extern "C"
