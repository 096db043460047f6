// The calls into one link of the chain, made on a thread of the link's own,
// so that a caller stops waiting at its deadline while a call to a store
// that stopped answering (a partition, a frozen server: the common failure)
// goes on. No link's slowness delays another, and a hung link costs each
// caller at most its deadline.
//
// One thread per link, on purpose: calls reach the plugin in the order they
// were made, so a write that timed out but is still in flight can never be
// overtaken by a later write of the same id (a deregistration landing
// before the registration it should follow would revive the instance).
#pragma once

#include <muster/core/backend_client.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace muster::core {

class LinkRunner {
public:
    using Clock = std::chrono::steady_clock;
    struct Task;

    explicit LinkRunner(std::string name);
    // Calls not started are dropped. A call in progress is waited for while
    // it is within its deadline; one already past it (a hung store) is left
    // to finish on its own, so that a process can exit without waiting for
    // the plugin's own timeout. Such a call owns what it uses.
    ~LinkRunner();
    LinkRunner(const LinkRunner&) = delete;
    LinkRunner& operator=(const LinkRunner&) = delete;

    // Queues `call` with a deadline `limit` from now, moved on by each
    // note_call_progress() the call makes (call_progress.hpp): the deadline
    // measures silence, not the size of an answer. While another call has
    // been running past its own deadline, this one fails at once instead
    // (it could only queue behind the hung one).
    std::shared_ptr<Task> start(std::function<Outcome()> call, std::chrono::milliseconds limit);
    // Waits until the task is done or its deadline passes. Past the
    // deadline the outcome is UNAVAILABLE ("no answer within N ms"); a call
    // not yet started then never runs, one running goes on and its outcome
    // is dropped.
    Outcome finish(const std::shared_ptr<Task>& task);

    // True while a call has been silent for longer than its limit.
    bool stuck() const;
    // True while a call runs or waits to (stuck or not).
    bool busy() const;

    // Calls past their deadline that destroyed runners left to finish on
    // their own, not finished yet. A process must not run its libraries'
    // exit handlers under one (it may be inside OpenSSL or libcurl, whose
    // cleanup then crashes it or waits for it): muster-host ends without
    // them while this is not 0 (host/cli/main.cpp). THREADING: any thread.
    static int abandoned();

private:
    // What the thread uses, shared with it, so that a thread left to finish
    // a hung call never touches a destroyed runner.
    struct Shared {
        std::string name;
        std::mutex mu;  // guards everything below
        std::condition_variable cv;
        std::deque<std::shared_ptr<Task>> queue;
        std::shared_ptr<Task> current;  // the call running now, if any
        bool stopping = false;
        bool left = false;  // the runner went, leaving `current` to finish (abandoned())
    };
    static void loop(const std::shared_ptr<Shared>& s);

    std::shared_ptr<Shared> s_;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace muster::core
