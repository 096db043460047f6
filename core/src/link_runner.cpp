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

LinkRunner::LinkRunner(std::string name) : s_(std::make_shared<Shared>()) {
    s_->name = std::move(name);
    thread_ = std::thread([s = s_] { loop(s); });
}

LinkRunner::~LinkRunner() {
    bool hung;
    {
        std::lock_guard lk(s_->mu);
        s_->stopping = true;
        for (auto& t : s_->queue) {
            t->done = true;
            t->outcome = {MUSTER_UNAVAILABLE, s_->name + ": shutting down"};
        }
        s_->queue.clear();
        hung = s_->current && Clock::now() > s_->current->deadline;
    }
    s_->cv.notify_all();
    if (hung)
        thread_.detach();
    else
        thread_.join();
}

std::shared_ptr<LinkRunner::Task> LinkRunner::start(std::function<Outcome()> call, std::chrono::milliseconds limit) {
    auto task = std::make_shared<Task>();
    task->call = std::move(call);
    task->limit = limit;
    auto now = Clock::now();
    task->deadline = now + limit;
    {
        std::lock_guard lk(s_->mu);
        const auto& cur = s_->current;
        if (cur && now > cur->deadline) {
            auto late = std::chrono::duration_cast<std::chrono::milliseconds>(now - cur->deadline + cur->limit);
            task->done = true;
            task->outcome = {MUSTER_UNAVAILABLE, s_->name + ": a call has not returned for " + ms_text(late)};
            return task;
        }
        s_->queue.push_back(task);
    }
    s_->cv.notify_all();
    return task;
}

Outcome LinkRunner::finish(const std::shared_ptr<Task>& task) {
    std::unique_lock lk(s_->mu);
    if (!s_->cv.wait_until(lk, task->deadline, [&] { return task->done; })) {
        task->abandoned = true;
        return {MUSTER_UNAVAILABLE, s_->name + ": no answer within " + ms_text(task->limit)};
    }
    return task->outcome;
}

bool LinkRunner::stuck() const {
    std::lock_guard lk(s_->mu);
    return s_->current && Clock::now() > s_->current->deadline;
}

void LinkRunner::loop(const std::shared_ptr<Shared>& s) {
    std::unique_lock lk(s->mu);
    for (;;) {
        s->cv.wait(lk, [&] { return s->stopping || !s->queue.empty(); });
        if (s->stopping) return;
        auto task = std::move(s->queue.front());
        s->queue.pop_front();
        if (task->abandoned) continue;  // its caller gave up before it started: never run it
        s->current = task;
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
        s->current.reset();
        s->cv.notify_all();
    }
}

}  // namespace muster::core
