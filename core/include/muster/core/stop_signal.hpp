// A flag that background loops sleep on: each round waits for its interval
// or for stop(), whichever comes first, so shutting down never waits out an
// interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace muster::core {

class StopSignal {
public:
    // Sleeps for `d` or until stop() or nudge(); false once stopped.
    // THREADING: any thread.
    bool sleep(std::chrono::milliseconds d) {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, d, [this] { return stopped_ || nudged_; });
        nudged_ = false;
        return !stopped_;
    }
    // Ends the current (or next) sleep early, without stopping: work for
    // the sleeper arrived. Wakes one sleeper; meant for a signal that one
    // thread sleeps on.
    void nudge() {
        {
            std::lock_guard lk(mu_);
            nudged_ = true;
        }
        cv_.notify_all();
    }
    // Wakes every sleeper; later sleeps return false at once.
    void stop() {
        {
            std::lock_guard lk(mu_);
            stopped_ = true;
        }
        cv_.notify_all();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopped_ = false, nudged_ = false;
};

}  // namespace muster::core
