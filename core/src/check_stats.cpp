#include <muster/core/check_stats.hpp>

namespace muster::core {

void CheckStats::record(const std::string& check, muster_health verdict, std::chrono::nanoseconds took) {
    double s = std::chrono::duration<double>(took).count();
    std::lock_guard lk(mu_);
    Check& c = checks_[check];
    c.name = check;
    c.runs[verdict <= MUSTER_HEALTH_CRITICAL ? verdict : MUSTER_HEALTH_CRITICAL]++;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) c.at_most[i] += s <= kBuckets[i];
    c.at_most.back()++;
    c.seconds += s;
}

std::vector<CheckStats::Check> CheckStats::snapshot() const {
    std::lock_guard lk(mu_);
    std::vector<Check> out;
    for (const auto& [name, c] : checks_) out.push_back(c);
    return out;
}

}  // namespace muster::core
