#include <muster/core/link_runner.hpp>

namespace muster::core {

struct LinkRunner::Task {
    std::function<Outcome()> call;
    std::chrono::milliseconds limit;
    Clock::time_point deadline;
    bool done = false;
    bool abandoned = false;  // the caller stopped waiting
    Outcome outcome;
};

namespace {
std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }
}  // namespace

LinkRunner::LinkRunner(std::string name) : name_(std::move(name)), thread_([this] { loop(); }) {}

LinkRunner::~LinkRunner() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
        for (auto& t : queue_) {
            t->done = true;
            t->outcome = {MUSTER_UNAVAILABLE, name_ + ": shutting down"};
        }
        queue_.clear();
    }
    cv_.notify_all();
    thread_.join();
}

std::shared_ptr<LinkRunner::Task> LinkRunner::start(std::function<Outcome()> call, std::chrono::milliseconds limit) {
    auto task = std::make_shared<Task>();
    task->call = std::move(call);
    task->limit = limit;
    auto now = Clock::now();
    task->deadline = now + limit;
    {
        std::lock_guard lk(mu_);
        if (current_ && now > current_->deadline) {
            auto late = std::chrono::duration_cast<std::chrono::milliseconds>(now - current_->deadline + current_->limit);
            task->done = true;
            task->outcome = {MUSTER_UNAVAILABLE, name_ + ": a call has not returned for " + ms_text(late)};
            return task;
        }
        queue_.push_back(task);
    }
    cv_.notify_all();
    return task;
}

Outcome LinkRunner::finish(const std::shared_ptr<Task>& task) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_until(lk, task->deadline, [&] { return task->done; })) {
        task->abandoned = true;
        return {MUSTER_UNAVAILABLE, name_ + ": no answer within " + ms_text(task->limit)};
    }
    return task->outcome;
}

bool LinkRunner::stuck() const {
    std::lock_guard lk(mu_);
    return current_ && Clock::now() > current_->deadline;
}

void LinkRunner::loop() {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        auto task = std::move(queue_.front());
        queue_.pop_front();
        if (task->abandoned) continue;  // its caller gave up before it started: never run it
        current_ = task;
        lk.unlock();
        Outcome o;
        try {
            o = task->call();
        } catch (const std::exception& e) {
            o = {MUSTER_INTERNAL, e.what()};
        }
        lk.lock();
        task->outcome = std::move(o);
        task->done = true;
        task->call = nullptr;  // release what it captured now, on this thread
        current_.reset();
        cv_.notify_all();
    }
}

}  // namespace muster::core
