// How often each health check ran, with which verdict, and how long it
// took: for metrics (docs/agent.md). A check counts when it returns; one
// still hung counts when it does.
//
// THREADING: every method may be called from any thread.
#pragma once

#include <muster/instance.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace muster::core {

class CheckStats {
public:
    // Upper bounds of the duration buckets, in seconds.
    static constexpr std::array<double, 9> kBuckets{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};

    struct Check {
        std::string name;
        std::array<std::uint64_t, 3> runs{};  // by verdict: passing, warning, critical
        // Cumulative counts: runs that took at most kBuckets[i]; the last
        // one is every run.
        std::array<std::uint64_t, kBuckets.size() + 1> at_most{};
        double seconds = 0;  // the sum of every run's duration
    };

    void record(const std::string& check, muster_health verdict, std::chrono::nanoseconds took);
    std::vector<Check> snapshot() const;

private:
    mutable std::mutex mu_;
    std::map<std::string, Check> checks_;
};

}  // namespace muster::core
