// C++ helpers for the muster ABI: what every plugin class receives (the
// host's services, checked options), and the one-macro export of a plugin.
#pragma once

#include <muster/export.h>
#include <muster/layout.h>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/options.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace muster::sdk {

// The host's services, wrapped. Valid for the process lifetime.
class Host {
public:
    explicit Host(const muster_host_services* s = nullptr) : s_(s) {}
    void log(muster_log_level level, const std::string& message) const {
        if (s_ && s_->log) s_->log(s_->host_ctx, level, message.c_str());
    }
    // Wall clock in ms since the epoch: the host's if it offers one.
    std::int64_t now_ms() const {
        if (s_ && s_->now_ms) return s_->now_ms(s_->host_ctx);
        return system_ms();
    }

private:
    const muster_host_services* s_;
};

// Answers the host's negotiation with `descriptor`, refusing a host whose
// ABI major differs (rule L2).
inline muster_status negotiate(const muster_negotiation* in, const muster_plugin_descriptor* descriptor,
                               const muster_plugin_descriptor** out, muster_error* err) noexcept {
    if (out) *out = descriptor;
    if (!in || in->struct_size < sizeof(muster_negotiation))
        return set_error(err, MUSTER_INVALID_ARGUMENT, "negotiation struct is missing or too small");
    if (in->host_abi_major != MUSTER_ABI_MAJOR) {
        std::string m = "plugin '" + std::string(descriptor->name) + "' is built for muster ABI " +
                        std::to_string(MUSTER_ABI_MAJOR) + "." + std::to_string(MUSTER_ABI_MINOR) +
                        ", the host serves ABI " + std::to_string(in->host_abi_major) + "." +
                        std::to_string(in->host_abi_minor);
        return set_error(err, MUSTER_UNSUPPORTED, m.c_str());
    }
    return set_error(err, MUSTER_OK, "");
}

}  // namespace muster::sdk

// Exports a plugin: its name, version, one-line description, then one kind
// entry per kind it provides, e.g.
//   MUSTER_EXPORT_PLUGIN("memory", "1.0.0", "in-process registry",
//                        muster::sdk::backend_kind<MemoryBackend>())
#define MUSTER_EXPORT_PLUGIN(NAME, VERSION, DESCRIPTION, ...)                                    \
    MUSTER_PLUGIN_EXPORT muster_status muster_plugin_negotiate(                                  \
        const muster_negotiation* in, const muster_plugin_descriptor** out, muster_error* err) { \
        static const muster_kind kinds[] = {__VA_ARGS__};                                        \
        static const muster_plugin_descriptor descriptor = {sizeof(muster_plugin_descriptor),    \
                                                            MUSTER_ABI_MAJOR,                    \
                                                            MUSTER_ABI_MINOR,                    \
                                                            0,                                   \
                                                            NAME,                                \
                                                            VERSION,                             \
                                                            DESCRIPTION,                         \
                                                            kinds,                               \
                                                            sizeof(kinds) / sizeof(kinds[0])};   \
        return ::muster::sdk::negotiate(in, &descriptor, out, err);                              \
    }

// Exports a plugin that provides one kind, named and described by its class
// (T::kName, T::kDescription): one name and one description, in one place.
// muster_add_plugin(... NAME <name>) names the file and defines
// MUSTER_PLUGIN_NAME "<name>"; write kName = MUSTER_PLUGIN_NAME.
//   MUSTER_EXPORT_BACKEND(MemoryBackend, "1.0.0")
#define MUSTER_EXPORT_BACKEND(CLASS, VERSION) \
    MUSTER_EXPORT_PLUGIN(CLASS::kName, VERSION, CLASS::kDescription, ::muster::sdk::backend_kind<CLASS>())
#define MUSTER_EXPORT_HEALTH(CLASS, VERSION) \
    MUSTER_EXPORT_PLUGIN(CLASS::kName, VERSION, CLASS::kDescription, ::muster::sdk::health_kind<CLASS>())
