#include <muster/core/chain.hpp>
#include <muster/core/clock.hpp>
#include <muster/cpp/error.hpp>

#include <spdlog/spdlog.h>

#include <chrono>

namespace muster::core {

namespace {
// A role no one registers: reading it is the cheapest probe every store has.
const std::string kProbeRole = "muster-probe";
}  // namespace

struct Chain::LinkState {
    explicit LinkState(BreakerOptions o) : breaker(o) {}
    Breaker breaker;
    std::mutex mu;  // guards the fields below
    std::string last_error;
    std::int64_t last_success_ms = 0;
    std::set<std::string> pending_deregistrations;  // missed while the link was down
};

Chain::Chain(std::vector<Link> links, ChainOptions options)
    : links_(std::move(links)), options_(options) {
    if (links_.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, "the chain has no backend");
    for (std::size_t i = 0; i < links_.size(); ++i) state_.push_back(std::make_unique<LinkState>(options_.breaker));
    prober_ = std::thread([this] { prober(); });
}

Chain::~Chain() {
    {
        std::lock_guard lk(stop_mu_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    prober_.join();
}

void Chain::set_recovery(Recovery recovery) {
    std::lock_guard lk(recovery_mu_);
    recovery_ = std::move(recovery);
}

void Chain::record(std::size_t i, const Outcome& o) {
    LinkState& st = *state_[i];
    if (moves_on(o.status)) {
        {
            std::lock_guard lk(st.mu);
            st.last_error = o.message;
        }
        if (st.breaker.failure())
            spdlog::warn("backend {}: breaker open after {} failures: {}", links_[i].backend->name(),
                         st.breaker.consecutive_failures(), o.message);
    } else {
        std::lock_guard lk(st.mu);
        st.last_success_ms = wall_ms();
        st.breaker.call_succeeded();
    }
}

void Chain::report_failure(const BackendClient& backend, const std::string& why) {
    for (std::size_t i = 0; i < links_.size(); ++i)
        if (links_[i].backend.get() == &backend) record(i, {MUSTER_UNAVAILABLE, why});
}

ChainRead Chain::list(const std::string* role, std::uint32_t flags) {
    ChainRead r;
    r.outcome = {MUSTER_UNAVAILABLE, "no backend answered"};
    for (std::size_t i = 0; i < links_.size(); ++i) {
        if (!state_[i]->breaker.allows()) {
            r.outcome = {MUSTER_UNAVAILABLE, links_[i].backend->name() + ": breaker open"};
            continue;
        }
        std::vector<sdk::Instance> got;
        Outcome o = links_[i].backend->list(role, flags, got);
        record(i, o);
        if (moves_on(o.status)) {
            r.outcome = {o.status, links_[i].backend->name() + ": " + o.message};
            continue;
        }
        if (!o.ok()) return {o, {}, links_[i].backend->name()};
        bool last = i + 1 == links_.size();
        if (got.empty() && !links_[i].return_on_empty && !last) continue;
        return {o, std::move(got), links_[i].backend->name()};
    }
    return r;
}

// write = all: every link whose breaker is closed; write = first: the
// first link that takes it. With `missed`, a link that does not take the
// write (breaker open, or the call fails) remembers the id as a missed
// deregistration. The check and the remembering happen under the link's
// lock, the same lock recovery closes the breaker under, so an id is never
// remembered just after recovery emptied the list.
template <class Call>
Outcome Chain::write(Call&& call, const std::string* missed) {
    Outcome first_failure{MUSTER_UNAVAILABLE, "no backend is available"};
    bool any_ok = false, any_failure = false;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        if (any_ok && options_.write == WriteMode::first) break;
        LinkState& st = *state_[i];
        {
            std::lock_guard lk(st.mu);
            if (!st.breaker.allows()) {
                if (missed) st.pending_deregistrations.insert(*missed);
                continue;
            }
        }
        Outcome o = call(*links_[i].backend);
        if (moves_on(o.status) && missed) {
            std::lock_guard lk(st.mu);
            st.pending_deregistrations.insert(*missed);
        }
        record(i, o);
        if (o.ok()) {
            any_ok = true;
        } else if (!moves_on(o.status)) {
            return o;  // the input itself was refused: no other link will differ
        } else {
            if (!any_failure) first_failure = {o.status, links_[i].backend->name() + ": " + o.message};
            any_failure = true;
        }
    }
    return any_ok ? Outcome{} : first_failure;
}

Outcome Chain::register_instance(const sdk::Instance& instance) {
    // A link that misses it gets it back from the registry's recovery.
    return write([&](BackendClient& b) { return b.register_instance(instance); });
}

// An id is OK if any link knew it; NOT_FOUND everywhere makes the registry
// register it again (how write = "first" heals after a failover).
Outcome Chain::heartbeat(const std::vector<std::string>& ids, std::vector<muster_status>& results) {
    results.assign(ids.size(), MUSTER_NOT_FOUND);
    std::vector<muster_status> one;
    return write([&](BackendClient& b) {
        Outcome o = b.heartbeat(ids, one);
        if (o.ok())
            for (std::size_t i = 0; i < ids.size(); ++i)
                if (one[i] == MUSTER_OK) results[i] = MUSTER_OK;
        return o;
    });
}

Outcome Chain::deregister(const std::string& id) {
    bool found = false;
    // A link that is down learns of it when it comes back, so a stopped
    // instance does not return from the dead.
    Outcome o = write(
        [&](BackendClient& b) {
            Outcome r = b.deregister(id);
            if (r.ok()) found = true;
            return r.status == MUSTER_NOT_FOUND ? Outcome{} : r;
        },
        &id);
    if (o.ok() && !found) return {MUSTER_NOT_FOUND, "no instance with id " + id};
    return o;
}

Outcome Chain::reap(std::int64_t retain_ms, std::uint64_t& removed) {
    removed = 0;
    return write([&](BackendClient& b) {
        std::uint64_t n = 0;
        Outcome o = b.reap(retain_ms, n);
        removed += n;
        return o.status == MUSTER_UNSUPPORTED ? Outcome{} : o;
    });
}

std::shared_ptr<BackendClient> Chain::watch_source() const {
    for (std::size_t i = 0; i < links_.size(); ++i)
        if (links_[i].backend->can(MUSTER_BACKEND_CAP_WATCH) && state_[i]->breaker.allows()) return links_[i].backend;
    return nullptr;
}

std::vector<LinkStatus> Chain::status() const {
    std::vector<LinkStatus> out;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        LinkState& st = *state_[i];
        std::lock_guard lk(st.mu);
        out.push_back({links_[i].backend->name(), Breaker::name(st.breaker.state()), st.last_error, st.last_success_ms,
                       st.pending_deregistrations.size()});
    }
    return out;
}

// Probe, then write back, then close: a recovered link serves reads only
// once it holds every registration this process owns.
bool Chain::recover(std::size_t i) {
    BackendClient& b = *links_[i].backend;
    LinkState& st = *state_[i];
    std::vector<sdk::Instance> ignored;
    Outcome o = b.list(&kProbeRole, 0, ignored);
    std::size_t deregs = 0;
    if (o.ok()) {
        std::lock_guard lk(recovery_mu_);
        if (recovery_) o = recovery_(b);
    }
    while (o.ok()) {
        std::set<std::string> todo;
        {
            std::lock_guard lk(st.mu);
            todo.swap(st.pending_deregistrations);
            if (todo.empty()) {
                // Closed under the lock: a deregister from now on reaches it directly.
                st.breaker.success();
                st.last_success_ms = wall_ms();
                break;
            }
        }
        for (const auto& id : todo) {
            Outcome r = b.deregister(id);
            if (!r.ok() && r.status != MUSTER_NOT_FOUND) {
                o = r;
                std::lock_guard lk(st.mu);
                st.pending_deregistrations.insert(todo.begin(), todo.end());
                break;
            }
            ++deregs;
        }
    }
    if (!o.ok()) {
        std::lock_guard lk(st.mu);
        st.last_error = o.message;
        st.breaker.failure();
        return false;
    }
    spdlog::info("backend {} recovered: registrations written back, {} missed deregistration(s) applied; breaker closed",
                 b.name(), deregs);
    return true;
}

void Chain::prober() {
    std::unique_lock lk(stop_mu_);
    while (!stop_cv_.wait_for(lk, options_.probe_interval, [this] { return stopping_; })) {
        lk.unlock();
        for (std::size_t i = 0; i < links_.size(); ++i)
            if (state_[i]->breaker.probe_due()) recover(i);
        lk.lock();
    }
}

}  // namespace muster::core
