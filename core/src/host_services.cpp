#include <muster/version.h>
#include <muster/core/host_services.hpp>
#include <muster/cpp/clock.hpp>

#include <muster/core/log.hpp>

#include <chrono>

namespace muster::core {

namespace {

void log_line(void* ctx, muster_log_level level, const char* message) {
    auto* self = static_cast<HostServices*>(ctx);
    std::string text = self->redact(message ? message : "");
    switch (level) {
    case MUSTER_LOG_TRACE: muster::core::log::trace("{}", text); break;
    case MUSTER_LOG_DEBUG: muster::core::log::debug("{}", text); break;
    case MUSTER_LOG_INFO: muster::core::log::info("{}", text); break;
    case MUSTER_LOG_WARN: muster::core::log::warn("{}", text); break;
    default: muster::core::log::error("{}", text); break;
    }
}

std::int64_t now_ms(void*) { return sdk::system_ms(); }

}  // namespace

HostServices& HostServices::instance() {
    // Never destroyed: plugins may log from their threads until exit.
    static HostServices* self = new HostServices();
    return *self;
}

HostServices::HostServices() {
    table_.struct_size = sizeof table_;
    table_.minor_version = MUSTER_ABI_MINOR;
    table_.host_ctx = this;
    table_.log = &log_line;
    table_.now_ms = &now_ms;
}

void HostServices::add_secret(const std::string& value) {
    if (value.empty()) return;
    std::lock_guard lk(mu_);
    secrets_.insert(value);
}

std::string HostServices::redact(std::string text) const {
    std::lock_guard lk(mu_);
    for (const auto& s : secrets_)
        for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 4))
            text.replace(pos, s.size(), "****");
    return text;
}

}  // namespace muster::core
