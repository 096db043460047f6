// A created health check, seen from the core.
#pragma once

#include <muster/core/plugin_loader.hpp>
#include <muster/cpp/instance.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace muster::core {

struct HealthResult {
    muster_health health = MUSTER_HEALTH_CRITICAL;
    std::string reason;
};

class HealthClient {
public:
    // Throws sdk::Error for a bad option or a failed create.
    static std::shared_ptr<HealthClient> create(std::shared_ptr<const LoadedPlugin> plugin,
                                                const std::vector<std::pair<std::string, std::string>>& options);
    ~HealthClient();
    HealthClient(const HealthClient&) = delete;
    HealthClient& operator=(const HealthClient&) = delete;

    const std::string& name() const { return name_; }
    // A check that cannot run counts as critical, with the reason.
    HealthResult check(const sdk::Instance& instance, std::int64_t timeout_ms);

private:
    HealthClient(std::shared_ptr<const LoadedPlugin> plugin, muster_health_check* c);
    std::shared_ptr<const LoadedPlugin> plugin_;
    const muster_health_v1* vt_;
    muster_health_check* check_;
    std::string name_;
};

}  // namespace muster::core
