// Runs the health checks of a registry's instances, each check on its own
// schedule, on a bounded pool of worker threads: a slow check delays no
// other check and no heartbeat (heartbeats have a thread of their own). A
// check still running past its timeout + 1 s (a plugin breaking the
// contract of health.h) gets a critical result "no verdict within ..."
// and its worker is replaced by a spare, at most `workers` spares at once;
// it is not started again until the hung call returns.
#pragma once

#include <muster/core/check_stats.hpp>
#include <muster/core/health_state.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace muster::core {

class CheckScheduler {
public:
    using Clock = std::chrono::steady_clock;
    // A result of check `check` of instance `id`. THREADING: called on a
    // worker or the scheduler thread, never after the destructor returns.
    using Deliver = std::function<void(const std::string& id, std::size_t check, const HealthResult& result)>;

    // Every run is counted in `stats`.
    CheckScheduler(std::size_t workers, Deliver deliver, std::shared_ptr<CheckStats> stats);
    // Stops; a worker still inside a hung check is left to finish on its
    // own (its result is dropped).
    ~CheckScheduler();
    CheckScheduler(const CheckScheduler&) = delete;
    CheckScheduler& operator=(const CheckScheduler&) = delete;

    // Runs every check of `state` on `instance` once, in parallel on the
    // pool, and waits for them (each at most its timeout + 1 s): the first
    // verdicts, before the instance is registered.
    std::vector<HealthResult> run_once(const sdk::Instance& instance, const std::vector<CheckSpec>& checks);
    // Checks `instance` with `state`'s checks, each every its interval (the
    // first one interval from now), for as long as `state` lives: the
    // registry's ownership of the instance holds it, so a stopped instance
    // is no longer checked.
    void add(const sdk::Instance& instance, const std::shared_ptr<HealthState>& state);

private:
    using Task = std::function<void()>;
    // Shared with the workers, so that one left inside a hung check never
    // touches a destroyed scheduler.
    struct Pool {
        std::mutex mu;  // guards what follows
        std::condition_variable cv;
        std::deque<Task> queue;
        std::size_t alive = 0, target = 0;  // a worker above target retires after its task
        bool stopping = false;
        void post(Task t);
        // One more worker while a task overruns; fewer again once it returns.
        static void grow(const std::shared_ptr<Pool>& p);
        void shrink();
        static void work(const std::shared_ptr<Pool>& p);
    };
    // What a task reports back through; `self` is cleared by the
    // destructor, so a task that outlives the scheduler reports nothing.
    struct Link {
        std::mutex mu;
        CheckScheduler* self;
    };
    struct Entry {
        std::shared_ptr<const sdk::Instance> instance;
        std::weak_ptr<HealthState> state;
        CheckSpec spec;
        Clock::time_point due;
        Clock::time_point started;
        bool in_flight = false, overran = false, spare = false;  // spare: a worker stands in for it
        std::uint64_t run = 0;                                   // which start a result belongs to
    };
    using Key = std::pair<std::string, std::size_t>;  // instance id, check index

    void loop();
    void start(const Key& key, Entry& e, Clock::time_point now);
    void finished(const Key& key, std::uint64_t run, const HealthResult& r);
    static HealthResult run_check(const CheckSpec& spec, const sdk::Instance& instance, CheckStats& stats);

    std::size_t workers_;
    Deliver deliver_;
    std::shared_ptr<Pool> pool_;
    std::shared_ptr<Link> link_;
    std::shared_ptr<CheckStats> stats_;  // shared with tasks that may outlive the scheduler
    std::mutex mu_;                      // guards what follows
    std::condition_variable cv_;
    std::map<Key, Entry> entries_;
    std::size_t spares_ = 0;  // workers standing in for ones inside a hung check
    bool stopping_ = false, changed_ = false;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace muster::core
