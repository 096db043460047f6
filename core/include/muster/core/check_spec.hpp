// How one health check of a registered instance runs (docs/operations.md,
// Health checks): its plugin, schedule, thresholds, and what a long critical
// spell does. And the roles an instance depends on.
#pragma once

#include <muster/core/health_client.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace muster::core {

struct CheckSpec {
    std::string name;  // shown in reasons and logs: "api"
    std::shared_ptr<HealthClient> client;
    std::chrono::milliseconds interval{10000};
    std::chrono::milliseconds timeout{2000};
    // Consecutive results needed to change the published verdict: passing
    // results before it turns passing, failing (warning or critical) ones
    // before it turns warning or critical. 1: at once.
    int success_before_passing = 1;
    int failures_before_critical = 1;
    // Deregister the instance once this check has been critical this long
    // (0: never).
    std::chrono::milliseconds deregister_critical_after{0};
};

// A role the instance needs: fewer than `min_passing` instances of it whose
// own checks pass turns the instance's health to the registry's
// dependency severity (warning by default).
struct Dependency {
    std::string role;
    int min_passing = 1;
};

}  // namespace muster::core
