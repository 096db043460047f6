#include <muster/core/check_scheduler.hpp>

#include <algorithm>

namespace muster::core {

namespace {
// How long past its timeout a check may run before it counts as hung.
constexpr std::chrono::milliseconds kGrace{1000};

HealthResult no_verdict(const CheckSpec& spec) {
    return {MUSTER_HEALTH_CRITICAL, "no verdict within " + std::to_string((spec.timeout + kGrace).count()) +
                                        " ms (the check hangs past its timeout)"};
}
}  // namespace

void CheckScheduler::Pool::post(Task t) {
    {
        std::lock_guard lk(mu);
        queue.push_back(std::move(t));
    }
    cv.notify_one();
}

void CheckScheduler::Pool::grow(const std::shared_ptr<Pool>& p) {
    {
        std::lock_guard lk(p->mu);
        ++p->target;
        ++p->alive;
    }
    std::thread(work, p).detach();
}

void CheckScheduler::Pool::shrink() {
    std::lock_guard lk(mu);
    --target;
}

// Workers are detached and own the pool with the scheduler: one inside a
// hung check keeps what it uses alive.
void CheckScheduler::Pool::work(const std::shared_ptr<Pool>& p) {
    std::unique_lock lk(p->mu);
    for (;;) {
        p->cv.wait(lk, [&] { return p->stopping || !p->queue.empty(); });
        if (p->stopping || p->alive > p->target) break;
        Task t = std::move(p->queue.front());
        p->queue.pop_front();
        lk.unlock();
        t();
        lk.lock();
        if (p->alive > p->target) break;
    }
    --p->alive;
    p->cv.notify_all();
}

CheckScheduler::CheckScheduler(std::size_t workers, Deliver deliver, std::shared_ptr<CheckStats> stats)
        : workers_(std::max<std::size_t>(1, workers)),
          deliver_(std::move(deliver)),
          pool_(std::make_shared<Pool>()),
          link_(std::make_shared<Link>()),
          stats_(std::move(stats)) {
    link_->self = this;
    for (std::size_t i = 0; i < workers_; ++i) Pool::grow(pool_);
    thread_ = std::thread([this] { loop(); });
}

CheckScheduler::~CheckScheduler() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    {
        std::lock_guard lk(link_->mu);  // waits for a delivery under way
        link_->self = nullptr;
    }
    std::lock_guard lk(pool_->mu);
    pool_->stopping = true;
    pool_->queue.clear();
    pool_->cv.notify_all();
}

HealthResult CheckScheduler::run_check(const CheckSpec& spec, const sdk::Instance& instance, CheckStats& stats) {
    auto started = Clock::now();
    HealthResult r;
    try {
        r = spec.client->check(instance, spec.timeout.count());
    } catch (const std::exception& e) {
        r = {MUSTER_HEALTH_CRITICAL, spec.name + " could not run: " + e.what()};
    }
    stats.record(spec.name, r.health, Clock::now() - started);
    return r;
}

std::vector<HealthResult> CheckScheduler::run_once(const sdk::Instance& instance,
                                                   const std::vector<CheckSpec>& checks) {
    struct Results {
        std::mutex mu;
        std::condition_variable cv;
        std::vector<std::optional<HealthResult>> got;
        std::size_t left = 0;
    };
    auto results = std::make_shared<Results>();
    results->got.resize(checks.size());
    results->left = checks.size();
    auto inst = std::make_shared<const sdk::Instance>(instance);
    auto deadline = Clock::now();
    for (std::size_t i = 0; i < checks.size(); ++i) {
        deadline = std::max(deadline, Clock::now() + checks[i].timeout + kGrace);
        pool_->post([results, inst, spec = checks[i], i, stats = stats_] {
            HealthResult r = run_check(spec, *inst, *stats);
            std::lock_guard lk(results->mu);
            results->got[i] = std::move(r);
            --results->left;
            results->cv.notify_all();
        });
    }
    std::unique_lock lk(results->mu);
    results->cv.wait_until(lk, deadline, [&] { return results->left == 0; });
    std::vector<HealthResult> out;
    for (std::size_t i = 0; i < checks.size(); ++i) out.push_back(results->got[i].value_or(no_verdict(checks[i])));
    return out;
}

void CheckScheduler::add(const sdk::Instance& instance, const std::shared_ptr<HealthState>& state) {
    auto inst = std::make_shared<const sdk::Instance>(instance);
    auto now = Clock::now();
    {
        std::lock_guard lk(mu_);
        for (std::size_t i = 0; i < state->checks().size(); ++i) {
            Entry e;
            e.instance = inst;
            e.state = state;
            e.spec = state->checks()[i];
            e.due = now + e.spec.interval;
            entries_[{instance.id, i}] = std::move(e);
        }
        changed_ = true;
    }
    cv_.notify_all();
}

// Under mu_. The interval counts from each start, so a slow check keeps
// its rhythm.
void CheckScheduler::start(const Key& key, Entry& e, Clock::time_point now) {
    e.in_flight = true;
    e.started = now;
    e.due = now + e.spec.interval;
    std::uint64_t run = ++e.run;
    pool_->post([link = link_, key, run, spec = e.spec, inst = e.instance, stats = stats_] {
        HealthResult r = run_check(spec, *inst, *stats);
        std::lock_guard lk(link->mu);
        if (link->self) link->self->finished(key, run, r);
    });
}

void CheckScheduler::finished(const Key& key, std::uint64_t run, const HealthResult& r) {
    bool overran, spare;
    {
        std::lock_guard lk(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end() || it->second.run != run) return;  // replaced meanwhile
        overran = it->second.overran;
        spare = it->second.spare;
        if (spare) --spares_;
        it->second.in_flight = it->second.overran = it->second.spare = false;
        changed_ = true;
    }
    cv_.notify_all();
    if (spare) pool_->shrink();  // its worker is back: one goes
    if (!overran) deliver_(key.first, key.second, r);
}

void CheckScheduler::loop() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
        auto now = Clock::now();
        auto next = now + std::chrono::seconds(1);
        std::vector<std::pair<Key, HealthResult>> hung;
        for (auto it = entries_.begin(); it != entries_.end();) {
            auto& [key, e] = *it;
            if (!e.in_flight && e.state.expired()) {  // the instance was stopped
                it = entries_.erase(it);
                continue;
            }
            if (!e.in_flight && now >= e.due) start(key, e, now);
            if (!e.in_flight) {
                next = std::min(next, e.due);
            } else if (!e.overran) {
                auto limit = e.started + e.spec.timeout + kGrace;
                if (now < limit) {
                    next = std::min(next, limit);
                } else {
                    e.overran = true;
                    hung.emplace_back(key, no_verdict(e.spec));
                    if (spares_ < workers_) {
                        ++spares_;
                        e.spare = true;
                        Pool::grow(pool_);
                    }
                }
            }
            ++it;
        }
        if (!hung.empty()) {
            lk.unlock();
            for (const auto& [key, r] : hung) deliver_(key.first, key.second, r);
            lk.lock();
            continue;
        }
        cv_.wait_until(lk, next, [this] { return stopping_ || changed_; });
        changed_ = false;
    }
}

}  // namespace muster::core
