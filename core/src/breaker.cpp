#include <muster/core/breaker.hpp>

#include <algorithm>
#include <random>

namespace muster::core {

bool Breaker::allows() const { return state_ == State::closed; }

bool Breaker::probe_due() {
    if (state_ != State::open || Clock::now() < next_probe_) return false;
    state_ = State::half_open;
    return true;
}

void Breaker::call_succeeded() {
    ++counts_.successes;
    if (state_ == State::closed) failures_ = 0;
}

bool Breaker::success() {
    bool recovered = state_ != State::closed;
    ++counts_.successes;
    counts_.closed += recovered;
    state_ = State::closed;
    failures_ = 0;
    backoff_ = std::chrono::milliseconds(0);
    return recovered;
}

bool Breaker::failure() {
    ++failures_;
    ++counts_.failures;
    bool opened = state_ == State::closed && failures_ >= options_.threshold;
    counts_.opened += opened;
    if (state_ == State::closed && !opened) return false;
    open();
    return opened;
}

bool Breaker::trip() {
    if (state_ != State::closed) return false;
    ++counts_.failures;
    ++counts_.opened;
    failures_ = std::max(failures_, options_.threshold);
    open();
    return true;
}

// Opening, or a failed probe: wait longer before the next probe.
void Breaker::open() {
    thread_local std::mt19937 rng{std::random_device{}()};
    backoff_ = backoff_.count() == 0 ? options_.initial_backoff : std::min(backoff_ * 2, options_.max_backoff);
    auto jitter = std::uniform_int_distribution<long>(0, std::max<long>(1, backoff_.count() / 5))(rng);
    next_probe_ = Clock::now() + backoff_ + std::chrono::milliseconds(jitter);
    state_ = State::open;
}

Breaker::State Breaker::state() const { return state_; }

int Breaker::consecutive_failures() const { return failures_; }

std::chrono::milliseconds Breaker::backoff() const { return backoff_; }

const char* Breaker::name(State s) {
    switch (s) {
    case State::closed: return "closed";
    case State::open: return "open";
    case State::half_open: return "half-open";
    }
    return "unknown";
}

}  // namespace muster::core
