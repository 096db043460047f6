// A circuit breaker for one link of the chain: it opens after `threshold`
// consecutive failures, then lets one probe through after a backoff that
// doubles (with jitter) each time a probe fails, and closes when a probe
// and the link's recovery succeed.
//
// THREADING: not synchronised. Its owner guards it with the lock that
// guards the rest of the link's state (the chain's per-link mutex), so the
// breaker and what the chain remembers about the link change together.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace muster::core {

struct BreakerOptions {
    int threshold = 3;
    std::chrono::milliseconds initial_backoff{250};
    std::chrono::milliseconds max_backoff{10000};
};

class Breaker {
public:
    enum class State { closed, open, half_open };
    using Clock = std::chrono::steady_clock;

    explicit Breaker(BreakerOptions options = {}) : options_(options) {}

    // May a call go to the link now? Closed: yes. Open or half-open: no;
    // the chain's prober decides when to try it again (probe_due).
    bool allows() const;
    // True when an open breaker's backoff has passed: the prober takes the
    // probe and the breaker is half-open until success() or failure().
    bool probe_due();

    // A regular call succeeded: resets the failure count of a closed
    // breaker, but never closes an open one (only a recovery does).
    void call_succeeded();
    // A probe and the link's recovery succeeded: closes the breaker. True
    // when it was not closed before.
    bool success();
    // A call or probe failed. True when this opened a closed breaker.
    bool failure();
    // Opens a closed breaker now, whatever the count: a call hung past its
    // deadline, and nothing else can pass the link until it returns. True
    // when this opened it.
    bool trip();

    // What the breaker has seen since it was made, for metrics.
    struct Counts {
        std::uint64_t successes = 0;  // calls and probes that succeeded
        std::uint64_t failures = 0;   // calls and probes that failed, and trips
        std::uint64_t opened = 0;     // closed -> open
        std::uint64_t closed = 0;     // open or half-open -> closed
    };
    const Counts& counts() const { return counts_; }

    State state() const;
    int consecutive_failures() const;
    // The wait before the next probe of an open breaker (without jitter).
    std::chrono::milliseconds backoff() const;
    static const char* name(State s);

private:
    void open();
    BreakerOptions options_;
    State state_ = State::closed;
    int failures_ = 0;
    std::chrono::milliseconds backoff_{0};
    Clock::time_point next_probe_{};
    Counts counts_;
};

}  // namespace muster::core
