#include <muster/core/chain.hpp>
#include <muster/core/ownership.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/error.hpp>

#include <muster/core/log.hpp>

#include <algorithm>
#include <chrono>

namespace muster::core {

namespace {
// A role no one registers: reading it is the cheapest probe every store has.
const std::string kProbeRole = "muster-probe";
}  // namespace

struct Chain::LinkState {
    explicit LinkState(BreakerOptions o, const std::string& name)
            : reads(std::make_unique<LinkRunner>(name)), writes(std::make_unique<LinkRunner>(name)), breaker(o) {}
    // Reads and writes on threads of their own: a slow read (a cluster
    // placing a consumer on a dead peer) never delays a heartbeat, and
    // writes keep their order among themselves.
    std::unique_ptr<LinkRunner> reads, writes;
    LinkRunner& runner(Chain::Lane lane) { return lane == Chain::Lane::read ? *reads : *writes; }
    mutable std::mutex mu;  // guards the fields below
    Breaker breaker;
    std::string last_error;
    std::int64_t last_success_ms = 0;
    LinkRunner::Clock::time_point last_answer{};  // the last call that finished, either way
    std::set<std::string> pending;                // ids the link may be out of date about
    // Heartbeat calls that reached the link, by outcome. Shared with the
    // calls themselves: one past its deadline finishes on its own.
    struct Beats {
        std::atomic<std::uint64_t> ok{0}, failed{0};
    };
    std::shared_ptr<Beats> beats = std::make_shared<Beats>();
    std::thread prober;
};

Chain::Chain(std::vector<Link> links, ChainOptions options) : links_(std::move(links)), options_(options) {
    if (links_.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, "the chain has no backend");
    for (std::size_t i = 0; i < links_.size(); ++i) {
        state_.push_back(std::make_unique<LinkState>(options_.breaker, links_[i].backend->name()));
        state_[i]->last_answer = LinkRunner::Clock::now();
    }
    for (std::size_t i = 0; i < links_.size(); ++i) state_[i]->prober = std::thread([this, i] { prober(i); });
}

Chain::~Chain() {
    stop_.stop();
    for (auto& st : state_) st->prober.join();
    // The runners go first, while everything their calls may touch exists.
    for (auto& st : state_) {
        st->reads.reset();
        st->writes.reset();
    }
}

std::string Chain::names() const {
    std::string out;
    for (const auto& l : links_) out += (out.empty() ? "" : ", ") + l.backend->name();
    return out;
}

std::vector<Outcome> Chain::open_all(std::chrono::milliseconds wait) {
    std::vector<std::shared_ptr<LinkRunner::Task>> tasks;
    for (std::size_t i = 0; i < links_.size(); ++i)
        tasks.push_back(start(
            i, Lane::write, [](BackendClient& b) { return b.open(); }, wait));
    std::vector<Outcome> out;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        out.push_back(state_[i]->writes->finish(tasks[i]));
        if (out.back().ok()) continue;
        LinkState& st = *state_[i];
        std::lock_guard lk(st.mu);
        st.last_error = out.back().message;
        st.breaker.trip();
    }
    return out;
}

void Chain::adopt(const std::shared_ptr<const Ownership>& owner) {
    std::lock_guard lk(owner_mu_);
    if (!owner_.expired())
        throw sdk::Error(MUSTER_CONFLICT,
                         "this chain already serves a registry: give each Registry a chain of its own");
    owner_ = owner;
}

std::shared_ptr<LinkRunner::Task> Chain::start(std::size_t i, Lane lane, Call fn, std::chrono::milliseconds limit) {
    return state_[i]->runner(lane).start([b = links_[i].backend, fn = std::move(fn)] { return fn(*b); }, limit);
}

Outcome Chain::call(std::size_t i, Lane lane, Call fn, std::chrono::milliseconds limit) {
    return state_[i]->runner(lane).finish(start(i, lane, std::move(fn), limit));
}

// A breaker steers calls to a better link; when every link's is open there
// is none, and trying them all costs less than failing for sure.
bool Chain::usable(std::size_t i) const {
    if (closed(i)) return true;
    for (std::size_t k = 0; k < state_.size(); ++k)
        if (closed(k)) return false;
    return true;
}

bool Chain::closed(std::size_t i) const {
    std::lock_guard lk(state_[i]->mu);
    return state_[i]->breaker.allows();
}

Outcome Chain::list_link(std::size_t i, const std::string* role, std::uint32_t flags, std::vector<sdk::Instance>& out) {
    auto got = std::make_shared<std::vector<sdk::Instance>>();
    std::optional<std::string> r = role ? std::optional<std::string>(*role) : std::nullopt;
    Outcome o = call(
        i, Lane::read, [got, r, flags](BackendClient& b) { return b.list(r ? &*r : nullptr, flags, *got); },
        options_.read_timeout);
    // The call finished (OK) before finish() returned: `got` is complete.
    if (o.ok()) out = std::move(*got);
    return o;
}

void Chain::remember(std::size_t i, const std::string& id) {
    std::lock_guard lk(state_[i]->mu);
    state_[i]->pending.insert(id);
}

void Chain::record(std::size_t i, const Outcome& o) {
    LinkState& st = *state_[i];
    std::unique_lock lk(st.mu);
    st.last_answer = LinkRunner::Clock::now();
    if (!moves_on(o.status)) {
        st.last_success_ms = sdk::system_ms();
        st.breaker.call_succeeded();
        return;
    }
    st.last_error = o.message;
    if (!st.breaker.failure()) return;
    int failures = st.breaker.consecutive_failures();
    lk.unlock();
    muster::core::log::warn("backend {}: breaker open after {} failures: {}", links_[i].backend->name(), failures,
                            o.message);
}

void Chain::report_failure(const BackendClient& backend, const std::string& why) {
    for (std::size_t i = 0; i < links_.size(); ++i)
        if (links_[i].backend.get() == &backend) record(i, {MUSTER_UNAVAILABLE, why});
}

// Links are replicas, asked in order, except read-only ones (DNS): they
// hold roles of their own, so an every-role list adds theirs to the
// writable links' answer, and a role whose read-only source failed is not
// answered from a link that merely lists it empty (docs/chain.md).
ChainRead Chain::list(const std::string* role, std::uint32_t flags) {
    ChainRead r;
    r.outcome = {MUSTER_UNAVAILABLE, "no backend answered"};
    std::optional<ChainRead> empty;      // the first empty answer, if nothing better comes
    std::optional<Outcome> source_down;  // a read-only link holding the role failed
    std::vector<sdk::Instance> own;      // every-role lists: the read-only links' roles
    bool any_writable = false, any_holds = false;
    auto finish = [&](ChainRead answer) {
        bool unanswered = !answer.outcome.ok() || answer.instances.empty() || !role;
        if (source_down && unanswered) return ChainRead{*source_down, {}, ""};
        if (answer.outcome.ok())
            answer.instances.insert(answer.instances.end(), std::make_move_iterator(own.begin()),
                                    std::make_move_iterator(own.end()));
        return answer;
    };
    for (std::size_t i = 0; i < links_.size(); ++i) {
        const BackendClient& b = *links_[i].backend;
        if (!b.holds_role(role)) continue;
        any_holds = true;
        const bool partial = !role && !b.writable();
        any_writable = any_writable || b.writable();
        if (!usable(i)) {
            r.outcome = {MUSTER_UNAVAILABLE, b.name() + ": breaker open"};
            if (!b.writable()) source_down = r.outcome;
            continue;
        }
        std::vector<sdk::Instance> got;
        Outcome o = list_link(i, role, flags, got);
        record(i, o);
        if (moves_on(o.status)) {
            r.outcome = {o.status, b.name() + ": " + o.message};
            if (!b.writable()) source_down = r.outcome;
            continue;
        }
        if (!o.ok()) return {o, {}, b.name()};
        if (partial) {
            own.insert(own.end(), std::make_move_iterator(got.begin()), std::make_move_iterator(got.end()));
            continue;
        }
        if (got.empty() && !links_[i].return_on_empty) {
            if (!empty) empty = ChainRead{o, {}, b.name()};
            continue;
        }
        return finish({o, std::move(got), b.name()});
    }
    if (!any_holds) return {{}, {}, names()};  // no link can hold this role: surely empty
    if (!role && !any_writable && !source_down) return {{}, std::move(own), names()};
    return finish(empty ? *empty : r);
}

Outcome Chain::probe(std::size_t i) {
    std::vector<sdk::Instance> ignored;
    return list_link(i, &kProbeRole, 0, ignored);
}

// A link's outcome of a write: a link that did not take it remembers the id
// (to be settled later) under the link's lock, the same lock recovery
// closes the breaker under, so an id is never remembered just after
// recovery settled the last ones.
Outcome Chain::after_write(std::size_t i, const Outcome& o, const std::string* id) {
    if (moves_on(o.status) && id) remember(i, *id);
    record(i, o);
    return o;
}

// write = all: every link whose breaker is closed, in parallel, each within
// the write deadline; write = first: the first link that takes it. A link
// that does not take the write (breaker open, failed, or late) remembers the
// id. A write another link refused (CONFLICT: the id is someone else's)
// forgets what it remembered, or settling would deregister that someone's
// instance. `fn` may run after this returns (a late link): it owns its data.
Outcome Chain::write(const std::function<Outcome(BackendClient&, std::size_t)>& fn, const std::string* id) {
    if (std::none_of(links_.begin(), links_.end(), [](const Link& l) { return l.backend->writable(); }))
        return {MUSTER_UNSUPPORTED, "no backend of the chain takes writes (" + names() +
                                        ": read-only): add one that does, e.g. catalog-sqlite"};
    Outcome first_failure{MUSTER_UNAVAILABLE, "no backend is available"};
    bool any_ok = false, any_failure = false;
    std::vector<std::pair<std::size_t, Outcome>> outcomes;
    // Checked and remembered under the link's lock, the one recovery
    // closes the breaker under.
    auto allowed = [&](std::size_t i) {
        if (!links_[i].backend->writable()) return false;  // takes no writes: nothing to remember either
        {
            LinkState& st = *state_[i];
            std::lock_guard lk(st.mu);
            if (st.breaker.allows()) return true;
            if (id) st.pending.insert(*id);
        }
        return usable(i);  // every breaker open: tried anyway, the id still remembered
    };
    auto on_link = [fn](std::size_t i) { return [fn, i](BackendClient& b) { return fn(b, i); }; };
    if (options_.write == WriteMode::first) {
        for (std::size_t i = 0; i < links_.size() && !any_ok; ++i) {
            if (!allowed(i)) continue;
            outcomes.emplace_back(i, after_write(i, call(i, Lane::write, on_link(i), options_.write_timeout), id));
            any_ok = outcomes.back().second.ok();
            if (!any_ok && !moves_on(outcomes.back().second.status)) break;
        }
    } else {
        std::vector<std::pair<std::size_t, std::shared_ptr<LinkRunner::Task>>> started;
        for (std::size_t i = 0; i < links_.size(); ++i)
            if (allowed(i)) started.emplace_back(i, start(i, Lane::write, on_link(i), options_.write_timeout));
        for (auto& [i, task] : started) outcomes.emplace_back(i, after_write(i, state_[i]->writes->finish(task), id));
    }
    for (const auto& [i, o] : outcomes) {
        if (o.ok()) {
            any_ok = true;
        } else if (!moves_on(o.status)) {
            if (id)
                for (std::size_t k = 0; k < links_.size(); ++k) {
                    std::lock_guard lk(state_[k]->mu);
                    state_[k]->pending.erase(*id);
                }
            return o;  // the input itself was refused: no other link will differ
        } else if (!any_failure) {
            first_failure = {o.status, links_[i].backend->name() + ": " + o.message};
            any_failure = true;
        }
    }
    return any_ok ? Outcome{} : first_failure;
}

Outcome Chain::register_instance(const sdk::Instance& instance) {
    return write([instance](BackendClient& b, std::size_t) { return b.register_instance(instance); }, &instance.id);
}

// A link that answers NOT_FOUND for an id lost it (wiped, expired while we
// could not reach it, or never got it): settled, it is written again. The
// call only collects those ids (it may outlive this chain: a late call is
// left to finish), and they are remembered here; a late link's are found
// again by the next heartbeat.
Outcome Chain::heartbeat(const std::vector<std::string>& ids) {
    struct Lost {
        std::mutex mu;
        std::vector<std::vector<std::string>> ids;  // per link
    };
    auto lost = std::make_shared<Lost>();
    lost->ids.resize(links_.size());
    std::vector<std::shared_ptr<LinkState::Beats>> beats;
    for (const auto& st : state_) beats.push_back(st->beats);
    Outcome o = write([ids, lost, beats](BackendClient& b, std::size_t i) {
        std::vector<muster_status> one;
        Outcome r = b.heartbeat(ids, one);
        ++(r.ok() ? beats[i]->ok : beats[i]->failed);
        std::lock_guard lk(lost->mu);
        if (r.ok())
            for (std::size_t k = 0; k < ids.size(); ++k)
                if (one[k] == MUSTER_NOT_FOUND) lost->ids[i].push_back(ids[k]);
        return r;
    });
    std::lock_guard lk(lost->mu);
    for (std::size_t i = 0; i < links_.size(); ++i) {
        std::lock_guard st(state_[i]->mu);
        state_[i]->pending.insert(lost->ids[i].begin(), lost->ids[i].end());
    }
    return o;
}

Outcome Chain::deregister(const std::string& id) {
    auto found = std::make_shared<std::atomic<bool>>(false);
    // A link that is down learns of it when it comes back, so a stopped
    // instance does not return from the dead.
    Outcome o = write(
        [id, found](BackendClient& b, std::size_t) {
            Outcome r = b.deregister(id);
            if (r.ok()) *found = true;
            return r.status == MUSTER_NOT_FOUND ? Outcome{} : r;
        },
        &id);
    if (o.ok() && !*found) return {MUSTER_NOT_FOUND, "no instance with id " + id};
    return o;
}

Outcome Chain::reap(std::int64_t retain_ms, std::uint64_t& removed) {
    auto total = std::make_shared<std::atomic<std::uint64_t>>(0);
    Outcome o = write([retain_ms, total](BackendClient& b, std::size_t) {
        std::uint64_t n = 0;
        Outcome r = b.reap(retain_ms, n);
        *total += n;
        return r.status == MUSTER_UNSUPPORTED ? Outcome{} : r;
    });
    removed = *total;
    return o;
}

std::optional<std::set<std::string>> Chain::live_anywhere(const std::string* role) {
    std::optional<std::set<std::string>> live;
    std::optional<std::string> r = role ? std::optional<std::string>(*role) : std::nullopt;
    std::vector<std::pair<std::size_t, std::shared_ptr<LinkRunner::Task>>> started;
    std::vector<std::shared_ptr<std::vector<sdk::Instance>>> results;
    // A read-only link that holds the role and is down: the role's source
    // cannot tell what is live.
    for (std::size_t i = 0; i < links_.size(); ++i)
        if (!links_[i].backend->writable() && links_[i].backend->holds_role(role) && !closed(i)) return std::nullopt;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        if (!links_[i].backend->holds_role(role) || !closed(i)) continue;
        auto got = std::make_shared<std::vector<sdk::Instance>>();
        results.push_back(got);
        started.emplace_back(
            i, start(
                   i, Lane::read, [got, r](BackendClient& b) { return b.list(r ? &*r : nullptr, 0, *got); },
                   options_.read_timeout));
    }
    bool source_failed = false;
    for (std::size_t k = 0; k < started.size(); ++k) {
        auto& [i, task] = started[k];
        Outcome o = state_[i]->reads->finish(task);
        record(i, o);
        if (!o.ok()) {
            source_failed = source_failed || !links_[i].backend->writable();
            continue;
        }
        if (!live) live.emplace();
        for (const auto& inst : *results[k]) live->insert(inst.id);
    }
    return source_failed ? std::nullopt : live;
}

std::shared_ptr<BackendClient> Chain::watch_source(const std::string* role) const {
    auto usable_watch = [&](std::size_t i) {
        const auto& b = links_[i].backend;
        return b->can(MUSTER_BACKEND_CAP_WATCH) && b->created() && closed(i);
    };
    // A role a read-only link holds is watched there, wherever the link
    // stands in the chain; while it is down, not on a link that merely
    // lists the role empty (the cache polls, and its answer goes stale).
    // Every role: one link's watch would miss a read-only link's roles.
    for (std::size_t i = 0; i < links_.size(); ++i) {
        const auto& b = links_[i].backend;
        if (b->writable() || !b->holds_role(role)) continue;
        return role && usable_watch(i) ? b : nullptr;
    }
    for (std::size_t i = 0; i < links_.size(); ++i)
        if (links_[i].backend->holds_role(role) && usable_watch(i)) return links_[i].backend;
    return nullptr;
}

std::vector<LinkStatus> Chain::status() const {
    std::vector<LinkStatus> out;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        LinkState& st = *state_[i];
        std::lock_guard lk(st.mu);
        out.push_back({links_[i].backend->name(), st.breaker.state(), st.last_error, st.last_success_ms,
                       st.pending.size(), st.breaker.counts(), st.beats->ok.load(), st.beats->failed.load()});
    }
    return out;
}

Outcome Chain::settle(std::size_t i, const std::set<std::string>* ids) {
    if (!links_[i].backend->writable()) return {};  // nothing of ours lives there
    std::shared_ptr<const Ownership> owner;
    {
        std::lock_guard lk(owner_mu_);
        owner = owner_.lock();
    }
    if (!owner) return {};
    LinkCall on_link = [this, i](std::function<Outcome(BackendClient&)> fn) {
        return call(i, Lane::write, std::move(fn), options_.write_timeout);
    };
    return owner->reconcile(on_link, ids);
}

// Stops this link missed while it was away, whoever made them: another link
// that keeps stopped instances (stopped_at) lists the instance stopped while
// this one lists it live. Those ids are settled like the ones this process
// missed itself (not owned here: deregistered), so a stop made while the
// store was away is not undone by its return, even when the process that
// made it has exited (docs/chain.md, Recovery).
Outcome Chain::settle_tombstones(std::size_t i, std::size_t& found) {
    found = 0;
    if (!links_[i].backend->writable()) return {};
    std::set<std::string> stopped;
    for (std::size_t k = 0; k < links_.size(); ++k) {
        if (k == i || !links_[k].backend->can(MUSTER_BACKEND_CAP_REAP) || !closed(k)) continue;
        std::vector<sdk::Instance> got;
        if (!list_link(k, nullptr, MUSTER_LIST_INCLUDE_STOPPED, got).ok()) continue;
        for (const auto& inst : got)
            if (inst.stopped_at_ms != 0) stopped.insert(inst.id);
    }
    if (stopped.empty()) return {};
    std::vector<sdk::Instance> live;
    Outcome o = list_link(i, nullptr, 0, live);
    if (!o.ok()) return o;
    std::set<std::string> todo;
    for (const auto& inst : live)
        if (stopped.count(inst.id)) todo.insert(inst.id);
    found = todo.size();
    return todo.empty() ? Outcome{} : settle(i, &todo);
}

// Probe, then write back, then settle, then close: a recovered link serves
// reads only once it holds every registration this process owns and none
// that was stopped while it was away.
bool Chain::recover(std::size_t i) {
    BackendClient& b = *links_[i].backend;
    LinkState& st = *state_[i];
    muster::core::log::debug("backend {}: breaker half-open, probing", b.name());
    Outcome o = probe(i);
    if (o.ok()) o = settle(i, nullptr);
    std::size_t tombstones = 0;
    if (o.ok()) o = settle_tombstones(i, tombstones);
    std::size_t settled = 0;
    while (o.ok()) {
        std::set<std::string> todo;
        {
            std::lock_guard lk(st.mu);
            todo.swap(st.pending);
            if (todo.empty()) {
                // Closed under the lock: a write from now on reaches it directly.
                st.breaker.success();
                st.last_success_ms = sdk::system_ms();
                st.last_answer = LinkRunner::Clock::now();
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
        std::chrono::milliseconds backoff;
        {
            std::lock_guard lk(st.mu);
            st.last_error = o.message;
            st.breaker.failure();
            backoff = st.breaker.backoff();
        }
        // half-open -> open: logged like every change of the breaker
        muster::core::log::info("backend {}: probe failed ({}); breaker open, next probe in about {} ms", b.name(),
                                o.message, backoff.count());
        return false;
    }
    muster::core::log::info(
        "backend {} recovered: owned registrations written back, {} missed write(s) settled, {} stop(s) "
        "made elsewhere applied; breaker closed",
        b.name(), settled, tombstones);
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
    if (o.ok())
        muster::core::log::debug("backend {}: {} missed write(s) settled", links_[i].backend->name(), todo.size());
}

// A closed link whose call hangs past its deadline opens at once: nothing
// else can pass it until that call returns. One that has been quiet for the
// keepalive gets a probe read, so a store that stops answering is noticed
// within about keepalive + read_timeout even when nothing else calls it.
void Chain::keep_alive(std::size_t i) {
    LinkState& st = *state_[i];
    if (!closed(i)) return;
    if (st.reads->stuck() || st.writes->stuck()) {
        bool tripped;
        {
            std::lock_guard lk(st.mu);
            tripped = st.breaker.trip();
            if (tripped) st.last_error = "a call hangs past its deadline";
        }
        if (tripped)
            muster::core::log::warn(
                "backend {}: breaker open: a call hangs past its deadline (the store does not answer)",
                links_[i].backend->name());
        return;
    }
    if (options_.keepalive.count() <= 0) return;
    {
        std::lock_guard lk(st.mu);
        if (LinkRunner::Clock::now() - st.last_answer < options_.keepalive) return;
    }
    // A read in progress (a big list) is not stuck, as just checked: it is
    // the news a probe would bring, and a probe would only queue behind it
    // and time out.
    if (st.reads->busy()) return;
    record(i, probe(i));
}

// Each link has a prober of its own, so a slow or hung link never delays
// another's recovery.
void Chain::prober(std::size_t i) {
    while (stop_.sleep(options_.probe_interval)) {
        bool due;
        {
            std::lock_guard lk(state_[i]->mu);
            due = state_[i]->breaker.probe_due();
        }
        if (due) {
            recover(i);
        } else {
            keep_alive(i);
            settle_pending(i);
        }
    }
}

}  // namespace muster::core
