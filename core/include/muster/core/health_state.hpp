// The health of one registered instance: its checks' verdicts after their
// thresholds, the health its application pushed (Consul's TTL check), and
// what its dependencies add, combined into what is published
// (docs/operations.md, Health checks).
#pragma once

#include <muster/core/check_spec.hpp>
#include <muster/cpp/instance.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace muster::core {

// THREADING: every method may be called from any thread.
class HealthState {
public:
    HealthState(std::vector<CheckSpec> checks, muster_health dependency_severity);

    const std::vector<CheckSpec>& checks() const { return checks_; }

    // A result of check i. A check's first result is its verdict at once;
    // after that the verdict changes only after success_before_passing
    // passing results in a row, or failures_before_critical failing ones
    // (warning or critical; the verdict becomes the latest of them).
    void record(std::size_t i, const HealthResult& r, std::int64_t now_ms);
    // The application's own report; with ttl_ms > 0 it turns critical when
    // not pushed again within ttl_ms.
    void push(muster_health health, std::string reason, std::int64_t ttl_ms, std::int64_t now_ms);
    // What the dependencies say: nullopt when each has enough passing
    // instances, else why not.
    void set_dependency_problem(std::optional<std::string> why);
    // Whether the verdict can change with time alone (a pushed ttl).
    bool expires() const;

    struct Verdict {
        muster_health health = MUSTER_HEALTH_PASSING;  // what is published
        muster_health own = MUSTER_HEALTH_PASSING;     // checks and push alone
        std::string reason;                            // each failing part's reason
    };
    Verdict verdict(std::int64_t now_ms) const;

    // The name of a check critical for longer than its
    // deregister_critical_after, or nullopt.
    std::optional<std::string> overdue(std::int64_t now_ms) const;

    // Writes `v` into the instance (health and the reserved metadata keys);
    // true when that changed it.
    static bool apply(const Verdict& v, sdk::Instance& instance);

private:
    struct Check {
        std::optional<muster_health> verdict;  // none before the first result
        std::string reason;
        int passes = 0, failures = 0;  // the current run of results
        std::int64_t critical_since_ms = 0;
    };
    std::vector<CheckSpec> checks_;
    muster_health dependency_severity_;
    mutable std::mutex mu_;  // guards what follows
    std::vector<Check> state_;
    std::optional<muster_health> pushed_;
    std::string pushed_reason_;
    std::int64_t pushed_ttl_ms_ = 0, pushed_at_ms_ = 0;
    std::optional<std::string> dependency_problem_;
};

}  // namespace muster::core
