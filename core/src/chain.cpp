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
    std::set<std::string> pending;  // ids the link may be out of date about
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

void Chain::set_reconcile(Reconcile reconcile) {
    std::lock_guard lk(reconcile_mu_);
    reconcile_ = std::move(reconcile);
}

void Chain::remember(std::size_t i, const std::string& id) {
    std::lock_guard lk(state_[i]->mu);
    state_[i]->pending.insert(id);
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
// first link that takes it. With `id`, a link that does not take the write
// (breaker open, or the call fails) remembers the id, to be settled later.
// The check and the remembering happen under the link's lock, the same lock
// recovery closes the breaker under, so an id is never remembered just
// after recovery settled the last ones. A write another link refused
// (CONFLICT: the id is someone else's) forgets what it remembered, or
// settling would deregister that someone's instance.
template <class Call>
Outcome Chain::write(Call&& call, const std::string* id) {
    Outcome first_failure{MUSTER_UNAVAILABLE, "no backend is available"};
    bool any_ok = false, any_failure = false;
    std::vector<std::size_t> remembered;  // links this call added the id to
    auto remember_locked = [&](std::size_t i) {
        if (state_[i]->pending.insert(*id).second) remembered.push_back(i);
    };
    for (std::size_t i = 0; i < links_.size(); ++i) {
        if (any_ok && options_.write == WriteMode::first) break;
        LinkState& st = *state_[i];
        {
            std::lock_guard lk(st.mu);
            if (!st.breaker.allows()) {
                if (id) remember_locked(i);
                continue;
            }
        }
        Outcome o = call(*links_[i].backend, i);
        if (moves_on(o.status) && id) {
            std::lock_guard lk(st.mu);
            remember_locked(i);
        }
        record(i, o);
        if (o.ok()) {
            any_ok = true;
        } else if (!moves_on(o.status)) {
            for (std::size_t r : remembered) {
                std::lock_guard lk(state_[r]->mu);
                state_[r]->pending.erase(*id);
            }
            return o;  // the input itself was refused: no other link will differ
        } else {
            if (!any_failure) first_failure = {o.status, links_[i].backend->name() + ": " + o.message};
            any_failure = true;
        }
    }
    return any_ok ? Outcome{} : first_failure;
}

Outcome Chain::register_instance(const sdk::Instance& instance) {
    return write([&](BackendClient& b, std::size_t) { return b.register_instance(instance); }, &instance.id);
}

// A link that answers NOT_FOUND for an id lost it (wiped, expired while we
// could not reach it, or never got it): settled, it is written again.
Outcome Chain::heartbeat(const std::vector<std::string>& ids) {
    std::vector<muster_status> one;
    return write([&](BackendClient& b, std::size_t i) {
        Outcome o = b.heartbeat(ids, one);
        if (o.ok())
            for (std::size_t k = 0; k < ids.size(); ++k)
                if (one[k] == MUSTER_NOT_FOUND) remember(i, ids[k]);
        return o;
    });
}

Outcome Chain::deregister(const std::string& id) {
    bool found = false;
    // A link that is down learns of it when it comes back, so a stopped
    // instance does not return from the dead.
    Outcome o = write(
        [&](BackendClient& b, std::size_t) {
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
    return write([&](BackendClient& b, std::size_t) {
        std::uint64_t n = 0;
        Outcome o = b.reap(retain_ms, n);
        removed += n;
        return o.status == MUSTER_UNSUPPORTED ? Outcome{} : o;
    });
}

std::optional<std::set<std::string>> Chain::live_anywhere(const std::string* role) {
    std::optional<std::set<std::string>> live;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        if (!state_[i]->breaker.allows()) continue;
        std::vector<sdk::Instance> got;
        Outcome o = links_[i].backend->list(role, 0, got);
        record(i, o);
        if (!o.ok()) continue;
        if (!live) live.emplace();
        for (const auto& inst : got) live->insert(inst.id);
    }
    return live;
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
                       st.pending.size()});
    }
    return out;
}

Outcome Chain::settle(std::size_t i, const std::set<std::string>* ids) {
    std::lock_guard lk(reconcile_mu_);
    if (!reconcile_) return {};
    return reconcile_(*links_[i].backend, ids);
}

// Probe, then write back, then settle, then close: a recovered link serves
// reads only once it holds every registration this process owns and none
// it stopped.
bool Chain::recover(std::size_t i) {
    BackendClient& b = *links_[i].backend;
    LinkState& st = *state_[i];
    spdlog::debug("backend {}: breaker half-open, probing", b.name());
    std::vector<sdk::Instance> ignored;
    Outcome o = b.list(&kProbeRole, 0, ignored);
    if (o.ok()) o = settle(i, nullptr);
    std::size_t settled = 0;
    while (o.ok()) {
        std::set<std::string> todo;
        {
            std::lock_guard lk(st.mu);
            todo.swap(st.pending);
            if (todo.empty()) {
                // Closed under the lock: a write from now on reaches it directly.
                st.breaker.success();
                st.last_success_ms = wall_ms();
                break;
            }
        }
        o = settle(i, &todo);
        if (!o.ok()) {
            std::lock_guard lk(st.mu);
            st.pending.insert(todo.begin(), todo.end());
        } else {
            settled += todo.size();
        }
    }
    if (!o.ok()) {
        {
            std::lock_guard lk(st.mu);
            st.last_error = o.message;
            st.breaker.failure();
        }
        // half-open -> open: logged like every change of the breaker
        spdlog::info("backend {}: probe failed ({}); breaker open, next probe in about {} ms", b.name(), o.message,
                     st.breaker.backoff().count());
        return false;
    }
    spdlog::info("backend {} recovered: owned registrations written back, {} missed write(s) settled; breaker closed",
                 b.name(), settled);
    return true;
}

// A link that is up settles what it missed (a write that failed without
// opening the breaker, an id its heartbeat did not know) on the next round.
void Chain::settle_pending(std::size_t i) {
    LinkState& st = *state_[i];
    std::set<std::string> todo;
    {
        std::lock_guard lk(st.mu);
        if (!st.breaker.allows()) return;
        todo.swap(st.pending);
    }
    if (todo.empty()) return;
    Outcome o = settle(i, &todo);
    if (!o.ok()) {
        std::lock_guard lk(st.mu);
        st.pending.insert(todo.begin(), todo.end());
    }
    record(i, o);
    if (o.ok()) spdlog::debug("backend {}: {} missed write(s) settled", links_[i].backend->name(), todo.size());
}

void Chain::prober() {
    std::unique_lock lk(stop_mu_);
    while (!stop_cv_.wait_for(lk, options_.probe_interval, [this] { return stopping_; })) {
        lk.unlock();
        for (std::size_t i = 0; i < links_.size(); ++i)
            if (state_[i]->breaker.probe_due()) recover(i);
            else settle_pending(i);
        lk.lock();
    }
}

}  // namespace muster::core
