#include <muster/core/health_client.hpp>
#include <muster/core/host_services.hpp>
#include <muster/core/plugin_config.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/validate.hpp>

namespace muster::core {

std::shared_ptr<HealthClient> HealthClient::create(std::shared_ptr<const LoadedPlugin> plugin,
                                                   const std::vector<std::pair<std::string, std::string>>& options) {
    const muster_health_v1* vt = plugin->health;
    if (!vt) throw sdk::Error(MUSTER_INVALID_ARGUMENT, "plugin '" + plugin->name() + "' provides no health check");
    PluginConfig config(vt->options, vt->option_count, options, "health check " + std::string(vt->name));
    muster_health_config cfg{sizeof cfg, 0, HostServices::instance().table(), config.data(), config.size()};
    muster_health_check* c = nullptr;
    muster_error err{};
    muster_status st = vt->create(&cfg, &c, &err);
    if (st != MUSTER_OK || !c)
        throw sdk::Error(st == MUSTER_OK ? MUSTER_INTERNAL : st,
                         "health check " + std::string(vt->name) + ": " + plugin_message(err, muster_status_name(st)));
    return std::shared_ptr<HealthClient>(new HealthClient(std::move(plugin), c));
}

HealthClient::HealthClient(std::shared_ptr<const LoadedPlugin> plugin, muster_health_check* c)
        : plugin_(std::move(plugin)), vt_(plugin_->health), check_(c), name_(vt_->name) {}

HealthClient::~HealthClient() { vt_->destroy(check_); }

HealthResult HealthClient::check(const sdk::Instance& instance, std::int64_t timeout_ms) {
    sdk::CView view(instance);
    // Read back as raw bytes: a plugin may write a value that is no
    // muster_health, and loading that as the enum is undefined.
    std::uint32_t h = MUSTER_HEALTH_CRITICAL;
    muster_error err{};
    muster_status st = vt_->check(check_, view.get(), timeout_ms, reinterpret_cast<muster_health*>(&h), &err);
    // A plugin's reason is stored with the instance: one line of UTF-8.
    std::string reason = sdk::utf8_line(plugin_message(err));
    if (st != MUSTER_OK) return {MUSTER_HEALTH_CRITICAL, name_ + " could not run: " + reason};
    if (h > MUSTER_HEALTH_CRITICAL) return {MUSTER_HEALTH_CRITICAL, name_ + " returned an unknown verdict"};
    return {static_cast<muster_health>(h), reason};
}

}  // namespace muster::core
