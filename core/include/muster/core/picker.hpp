// Client-side routing (docs/routing.md): choosing one instance of a role for
// a call. A Picker reads the role's cached snapshot; each snapshot is turned
// once into a table (eligible instances by locality, weights, a Maglev
// table), and pick() chooses from it without a lock or an allocation.
// Outcomes reported through the Call guard eject failing instances for a
// while (outlier detection, local to this process).
//
//   auto picker = registry.picker("querier");  // PickerOptions: policy, panic, outlier, locality
//   if (auto call = picker->pick()) {
//       bool ok = send(call.instance().address);
//       ok ? call.success() : call.failure();
//   }
#pragma once

#include <muster/core/role_cache.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace muster::core {

enum class PickPolicy {
    round_robin,
    random,
    least_outstanding,  // power of two choices by calls in flight
    weighted,           // random, by metadata "weight" (default 1)
    maglev,             // by key: when one of N instances leaves, about 1/N of the keys move
};
// "round_robin", ... and back; nullopt for an unknown name.
const char* policy_name(PickPolicy p);
std::optional<PickPolicy> parse_policy(std::string_view name);

// Per-instance circuit breakers from reported outcomes (Envoy's outlier
// detection): an instance is ejected after `consecutive_failures` failures
// in a row, or when over `window` at least `min_calls` calls saw a failure
// share of `failure_rate` or more (0: off). Ejected for base_ejection x the
// number of times it was ejected (at most max_ejection); then one trial
// call: success re-admits it, failure ejects it again. Never more than
// max_ejected_share of the role at once (at least one instance).
struct OutlierOptions {
    int consecutive_failures = 5;
    double failure_rate = 0.0;
    int min_calls = 20;
    std::chrono::milliseconds window{10000};
    std::chrono::milliseconds base_ejection{30000};
    std::chrono::milliseconds max_ejection{300000};
    double max_ejected_share = 0.1;
};

// Where this process is; instances say where they are with the metadata
// keys "zone" and "region". Empty: no preference.
struct Locality {
    std::string zone, region;
    // A tier's share of the calls is its share of healthy instances times
    // this (Envoy's overprovisioning factor): the local zone takes every
    // call while at least 1/1.4 of it is healthy, and spills the rest over
    // to the region, then to the others, gradually.
    double overprovision = 1.4;
};

struct PickerOptions {
    PickPolicy policy = PickPolicy::round_robin;
    // Below this share of passing instances, picks spread over every
    // instance that is not drained (Envoy's panic threshold).
    double panic_threshold = 0.5;
    OutlierOptions outlier;
    Locality locality;
};

class Picker;
namespace detail {
struct PickTable;
struct Endpoint;
}  // namespace detail

// One call to a picked instance. Report its outcome once with success() or
// failure(); destroyed without a report, it only ends the call (no
// outcome). False when nothing could be picked. Move-only.
class Call {
public:
    Call() = default;
    Call(Call&& o) noexcept;
    Call& operator=(Call&& o) noexcept;
    ~Call();
    explicit operator bool() const { return endpoint_ != nullptr; }
    // The instance (valid while the Call lives).
    const sdk::Instance& instance() const;
    // "zone", "region" or "other": which locality answered ("any" without one).
    const char* locality() const { return locality_; }
    // The outcome, with the call's latency when the caller measured it
    // (kept per instance as a moving average; see Picker::stats()).
    void success(std::chrono::nanoseconds latency = std::chrono::nanoseconds(0));
    void failure(std::chrono::nanoseconds latency = std::chrono::nanoseconds(0));

private:
    friend class Picker;
    void finish(int outcome, std::chrono::nanoseconds latency);
    std::shared_ptr<const detail::PickTable> table_;  // keeps the instance alive
    detail::Endpoint* endpoint_ = nullptr;
    std::size_t index_ = 0;
    const char* locality_ = "any";
    Picker* picker_ = nullptr;
    bool counted_ = false;  // in the instance's calls in flight
};

class Picker {
public:
    Picker(std::shared_ptr<RoleCache> cache, PickerOptions options);
    ~Picker();
    Picker(const Picker&) = delete;
    Picker& operator=(const Picker&) = delete;

    // Chooses an instance: passing first, warning only when none passes,
    // critical never (below the panic threshold: any that is not drained);
    // drained never; ejected ones only when every candidate is ejected.
    // `key` is used by maglev (an empty key picks like random).
    // THREADING: any thread; no lock, no allocation unless the role changed
    // since this thread's last pick.
    Call pick(std::string_view key = {});

    const PickerOptions& options() const { return options_; }
    // Instances ejected now.
    std::size_t ejected() const { return ejected_.load(std::memory_order_relaxed); }

    // What this picker knows of each instance of the role now.
    struct InstanceStats {
        std::string id, address;
        int in_flight = 0;  // counted for least_outstanding only
        std::uint64_t successes = 0, failures = 0;
        double latency_ms = 0;  // moving average of reported latencies (0: none)
        bool ejected = false;
        int ejections = 0;
    };
    // THREADING: any thread; takes the picker's lock.
    std::vector<InstanceStats> stats();

private:
    friend class Call;
    // The current table, and this thread's round-robin turn for this picker.
    std::shared_ptr<const detail::PickTable> table(std::uint64_t** turn);
    std::shared_ptr<const detail::PickTable> build(std::uint64_t version);
    void report(detail::Endpoint& e, const sdk::Instance& instance, bool ok, std::chrono::nanoseconds latency);

    std::shared_ptr<RoleCache> cache_;
    PickerOptions options_;
    std::uint64_t serial_;                     // names this picker in the threads' remembered tables
    std::atomic<std::size_t> latest_size_{0};  // instances that may be picked, for the ejection share
    std::atomic<std::size_t> ejected_{0};      // instances ejected now
    std::mutex mu_;                            // guards what follows: taken only to rebuild
    std::shared_ptr<const detail::PickTable> latest_;
    std::map<std::string, std::shared_ptr<detail::Endpoint>> endpoints_;  // by id, across tables
};

}  // namespace muster::core
