// A few threads and a bounded queue for the agent's work that may wait on a
// backend (a write, the first read of a role), so that the network threads
// never do: a request whose work finds the queue full is answered "busy"
// at once instead of growing the queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace host::agent {

class WorkPool {
public:
    // `name` is for the log; `threads` run the work; `queue` items wait at most.
    WorkPool(std::string name, std::size_t threads, std::size_t queue);
    // Runs what was queued already, then joins the threads.
    ~WorkPool();
    WorkPool(const WorkPool&) = delete;
    WorkPool& operator=(const WorkPool&) = delete;

    // Queues `work`; false (and nothing queued) when the queue is full.
    // `work` must not throw. THREADING: any thread.
    bool post(std::function<void()> work);

private:
    void run();

    std::string name_;
    std::size_t limit_;
    std::mutex mu_;  // guards queue_ and stopping_
    std::condition_variable ready_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace host::agent
