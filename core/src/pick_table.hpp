// What a Picker chooses from: one role snapshot turned into tiers of
// locality, each with its instances grouped by health, their weights and a
// Maglev lookup table; and the per-instance state that outlives snapshots
// (calls in flight, outlier ejection). Internal to the core.
#pragma once

#include <muster/core/picker.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace muster::core::detail {

// One instance as the picker sees it, kept by id across snapshots.
struct Endpoint {
    std::atomic<int> outstanding{0};
    // Steady-clock ns until which it is ejected; 0: admitted.
    std::atomic<std::int64_t> ejected_until{0};
    std::atomic<bool> trial_out{false};  // a trial call was let through since the ejection
    std::mutex mu;                       // guards the outcome bookkeeping below
    bool ejected = false;
    int consecutive_failures = 0;
    int ejections = 0;
    std::int64_t window_start = 0;
    int window_calls = 0, window_failures = 0;
    std::uint64_t successes = 0, failures = 0;
    double latency_ms = 0;  // moving average (alpha 0.2) of reported latencies

    // May a new call go to it now? An ejected one whose time is up lets
    // exactly one trial call through (the thread that moves the time on by
    // `trial_ns` takes it); if that call never reports, another trial
    // follows `trial_ns` later.
    // `now_ns` is asked only for an ejected one: reading the clock costs
    // as much as the rest of a pick.
    template <class Now>
    bool available(const Now& now_ns, std::int64_t trial_ns) {
        std::int64_t until = ejected_until.load(std::memory_order_acquire);
        if (until == 0) return true;
        std::int64_t now = now_ns();
        if (now < until) return false;
        if (!ejected_until.compare_exchange_strong(until, now + trial_ns)) return false;
        trial_out.store(true, std::memory_order_release);
        return true;
    }
};

// Walker's alias method (Vose's construction): a weighted choice in O(1),
// with one uniform index and one uniform number.
struct AliasTable {
    std::vector<double> prob;
    std::vector<std::uint32_t> alias;
    static AliasTable build(const std::vector<double>& weights);
    // A position in [0, weights.size()), from two random numbers in [0, 1).
    std::size_t pick(std::uint64_t r, double u) const {
        std::size_t i = r % prob.size();
        return u < prob[i] ? i : alias[i];
    }
};

struct PickTier {
    const char* name = "any";                        // zone, region, other, any
    std::vector<std::size_t> passing, warning, all;  // indices into PickTable::instances
    // The weights of passing, warning and all (weighted policy).
    AliasTable weighted_passing, weighted_warning, weighted_all;
    std::vector<std::uint32_t> maglev;  // indices into `all`'s members (maglev policy)
    double share_end = 0;               // cumulative share of calls, up to 1
};

struct PickTable {
    std::uint64_t version = 0;
    std::shared_ptr<const RoleSnapshot> snapshot;
    std::vector<const sdk::Instance*> instances;  // not drained
    std::vector<std::shared_ptr<Endpoint>> endpoints;
    std::vector<PickTier> tiers;  // preferred first; empty ones left out

    // `endpoints_by_id` supplies (and keeps) each instance's Endpoint.
    static std::shared_ptr<const PickTable> build(
        std::uint64_t version, std::shared_ptr<const RoleSnapshot> snapshot, const PickerOptions& options,
        const std::function<std::shared_ptr<Endpoint>(const std::string& id)>& endpoint_of);
};

// A stable 64-bit hash (FNV-1a) of a key: the same in every process.
std::uint64_t key_hash(std::string_view key, std::uint64_t seed = 0);

}  // namespace muster::core::detail
