#include "work_pool.hpp"

#include <muster/core/log.hpp>

namespace host::agent {

WorkPool::WorkPool(std::string name, std::size_t threads, std::size_t queue) : name_(std::move(name)), limit_(queue) {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkPool::~WorkPool() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_) t.join();
}

bool WorkPool::post(std::function<void()> work) {
    {
        std::lock_guard lk(mu_);
        if (stopping_ || queue_.size() >= limit_) return false;
        queue_.push_back(std::move(work));
    }
    ready_.notify_one();
    return true;
}

void WorkPool::run() {
    for (;;) {
        std::function<void()> work;
        {
            std::unique_lock lk(mu_);
            ready_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;
            work = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            work();
        } catch (const std::exception& e) {  // work must not throw; a bug must not end the thread
            muster::core::log::error("{}: {}", name_, e.what());
        }
    }
}

}  // namespace host::agent
