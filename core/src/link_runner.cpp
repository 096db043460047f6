#include <muster/core/call_progress.hpp>
#include <muster/core/link_runner.hpp>

#include <atomic>

namespace muster::core {

struct LinkRunner::Task {
    std::function<Outcome()> call;
    std::chrono::milliseconds limit;
    // When the call last showed progress (queued, or a row received): its
    // deadline is `limit` after that.
    std::atomic<Clock::rep> progress{0};
    bool done = false;
    std::atomic<bool> abandoned{false};  // the caller stopped waiting
    Outcome outcome;

    Clock::time_point deadline() const {
        return Clock::time_point(Clock::duration(progress.load(std::memory_order_relaxed))) + limit;
    }
};

namespace {

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

// The task the runner thread is executing, for note_call_progress().
thread_local LinkRunner::Task* running = nullptr;

std::atomic<int> abandoned_calls{0};

}  // namespace

bool note_call_progress() noexcept {
    if (!running) return true;
    running->progress.store(LinkRunner::Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    return !running->abandoned.load(std::memory_order_relaxed);
}

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
        hung = s_->current && Clock::now() > s_->current->deadline();
        if (hung) {
            s_->left = true;
            abandoned_calls.fetch_add(1);
        }
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
    task->progress = now.time_since_epoch().count();
    {
        std::lock_guard lk(s_->mu);
        const auto& cur = s_->current;
        if (cur && now > cur->deadline()) {
            auto late = std::chrono::duration_cast<std::chrono::milliseconds>(now - cur->deadline() + cur->limit);
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
    // Woken at the deadline, a call that made progress since gets a new one.
    while (!s_->cv.wait_until(lk, task->deadline(), [&] { return task->done; }))
        if (Clock::now() >= task->deadline()) {
            task->abandoned = true;
            return {MUSTER_UNAVAILABLE, s_->name + ": no answer within " + ms_text(task->limit)};
        }
    return task->outcome;
}

bool LinkRunner::stuck() const {
    std::lock_guard lk(s_->mu);
    return s_->current && Clock::now() > s_->current->deadline();
}

int LinkRunner::abandoned() { return abandoned_calls.load(); }

bool LinkRunner::busy() const {
    std::lock_guard lk(s_->mu);
    return s_->current || !s_->queue.empty();
}

void LinkRunner::loop(const std::shared_ptr<Shared>& s) {
    std::unique_lock lk(s->mu);
    for (;;) {
        s->cv.wait(lk, [&] { return s->stopping || !s->queue.empty(); });
        if (s->stopping) {
            if (s->left) abandoned_calls.fetch_sub(1);
            return;
        }
        auto task = std::move(s->queue.front());
        s->queue.pop_front();
        if (task->abandoned) continue;  // its caller gave up before it started: never run it
        s->current = task;
        lk.unlock();
        Outcome o;
        running = task.get();
        try {
            o = task->call();
        } catch (const std::exception& e) {
            o = {MUSTER_INTERNAL, e.what()};
        }
        running = nullptr;
        lk.lock();
        task->outcome = std::move(o);
        task->done = true;
        task->call = nullptr;  // release what it captured now, on this thread
        s->current.reset();
        s->cv.notify_all();
    }
}

}  // namespace muster::core
