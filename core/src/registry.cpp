#include <muster/core/cache_set.hpp>
#include <muster/core/check_scheduler.hpp>
#include <muster/core/drain_mark.hpp>
#include <muster/core/ownership.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/validate.hpp>

#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <muster/core/log.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <utility>

namespace muster::core {

std::string new_instance_id() {
    thread_local boost::uuids::random_generator gen;
    return boost::uuids::to_string(gen());
}

namespace detail {

struct Parts {
    Parts(std::shared_ptr<Chain> c, const RegistryOptions& opt)
            : chain(std::move(c)),
              owned(std::make_shared<Ownership>()),
              caches(chain, MassRemovalGuard{opt.guard_fraction, opt.ttl.count()},
                     CacheLimits{opt.max_roles, opt.role_idle, [o = owned] { return held_roles(*o); }}) {}

    // The roles this process registered in or depends on: their caches stay.
    static std::set<std::string> held_roles(const Ownership& owned) {
        std::set<std::string> roles;
        for (const auto& o : owned.all()) {
            roles.insert(o.instance.role);
            for (const auto& d : o.depends_on) roles.insert(d.role);
        }
        return roles;
    }

    std::shared_ptr<Chain> chain;
    std::shared_ptr<Ownership> owned;
    CacheSet caches;

    // Writes instance `id`'s health verdict when it changed, in the
    // instance's write order; one log line per change.
    Outcome publish(const std::string& id) {
        auto health = owned->health_of(id);
        if (!health) return {MUSTER_NOT_FOUND, "instance " + id + " is not registered by this process"};
        HealthState::Verdict v = health->verdict(sdk::system_ms());
        auto seen = take_drain(id);
        std::optional<Outcome> o = owned->update(
            id,
            [&](sdk::Instance& inst) {
                bool adopted = seen && adopt_outside_drain(inst, *seen);
                return HealthState::apply(v, inst) || adopted;
            },
            [&](const sdk::Instance& inst) {
                muster::core::log::info("{} {} is now {}{}{}", inst.role, inst.id, sdk::health_name(v.health),
                                        v.reason.empty() ? "" : ": ", v.reason);
                return chain->register_instance(inst);
            });
        return o ? *o : Outcome{MUSTER_NOT_FOUND, "instance " + id + " is not registered by this process"};
    }

    // Drain marks other processes wrote on instances this one owns, as the
    // watch of the role told them (only the two drain keys kept), until
    // they are taken in. Kept from the event, not looked up in the cache
    // later: a store whose heartbeat puts the owner's last value again
    // (nats-kv) has undone the mark by then. Every change of a role this
    // process registered in reaches note_drain (watch_own_role), so nothing
    // else needs a look.
    std::mutex seen_mu;
    std::map<std::string, sdk::Instance> seen_drains;

    // One subscription per role this process has an instance in
    // (Registry::watch_own_role), dropped with its last instance so that
    // the role's cache is no longer held.
    std::mutex own_roles_mu;
    std::map<std::string, Subscription> own_roles;

    // Outside Ownership's locks: the unsubscribe may wait for a callback.
    void unwatch_unless_owned(const std::string& role) {
        for (const auto& o : owned->all())
            if (o.instance.role == role) return;
        Subscription gone;  // cancelled after own_roles_mu
        std::lock_guard lk(own_roles_mu);
        if (auto it = own_roles.find(role); it != own_roles.end()) {
            gone = std::move(it->second);
            own_roles.erase(it);
        }
    }

    // From a watch callback: never waits on a write.
    bool note_drain(const sdk::Instance& seen) {
        std::int64_t at = drain_changed_at(seen);
        if (at == 0 || !owned->owns(seen.id)) return false;
        std::lock_guard lk(seen_mu);
        auto& kept = seen_drains[seen.id];
        if (at <= drain_changed_at(kept)) return false;
        kept.metadata.clear();
        for (const char* key : {MUSTER_META_DRAIN, MUSTER_META_DRAIN_AT})
            if (auto it = seen.metadata.find(key); it != seen.metadata.end()) kept.metadata.insert(*it);
        return true;
    }

    // The mark noted for `id`, handed over; and every noted mark.
    std::optional<sdk::Instance> take_drain(const std::string& id) {
        std::lock_guard lk(seen_mu);
        auto node = seen_drains.extract(id);
        return node ? std::optional(std::move(node.mapped())) : std::nullopt;
    }
    std::map<std::string, sdk::Instance> take_drains() {
        std::lock_guard lk(seen_mu);
        return std::exchange(seen_drains, {});
    }

    // Takes into `inst` (owned) a drain mark another process changed later
    // (`muster-host drain`), so that writing `inst` does not undo that drain.
    static bool adopt_outside_drain(sdk::Instance& inst, const sdk::Instance& seen) {
        if (!adopt_drain(inst, seen)) return false;
        muster::core::log::info("{} {} {} (marked by another process)", inst.role, inst.id,
                                drained(inst) ? "draining: no new calls" : "no longer draining");
        return true;
    }

    // Why `deps` are not met by the cached roles (nullopt: they are). An
    // instance counts when its own checks pass (MUSTER_META_HEALTH_OWN, or
    // its health when absent), so dependencies in a cycle cannot feed back.
    std::optional<std::string> dependency_problem(const std::vector<Dependency>& deps) {
        std::string why;
        for (const auto& d : deps) {
            int passing = 0;
            std::shared_ptr<const RoleSnapshot> snapshot;  // kept: the loop reads it
            try {
                snapshot = caches.get(d.role)->load();
            } catch (const sdk::Error& e) {
                why += (why.empty() ? "" : "; ") + std::string("dependency ") + d.role + ": " + e.what();
                continue;
            }
            for (const auto& inst : snapshot->instances) {
                auto own = inst.metadata.find(MUSTER_META_HEALTH_OWN);
                auto h = own == inst.metadata.end() ? std::optional(inst.health) : sdk::parse_health(own->second);
                passing += h == MUSTER_HEALTH_PASSING;
            }
            if (passing < d.min_passing)
                why += (why.empty() ? "" : "; ") + std::string("dependency ") + d.role + ": " +
                       std::to_string(passing) + " of " + std::to_string(d.min_passing) +
                       " required passing instance(s)";
        }
        return why.empty() ? std::nullopt : std::optional(why);
    }

    // A graceful stop: no longer owned, our caches told (so the removal is
    // explained, whichever way it reaches them), then written.
    Outcome deregister(const std::string& id) {
        std::string role;
        std::optional<Outcome> o = owned->remove(id, [&](const sdk::Instance& gone) {
            role = gone.role;
            caches.note_stopped(gone.role, gone.id);
            return chain->deregister(gone.id);
        });
        if (!o) return {};  // stopped already
        unwatch_unless_owned(role);
        if (o->ok())
            muster::core::log::info("deregistered {}", id);
        else
            muster::core::log::warn("deregister {} failed ({}); it expires after the ttl", id, o->message);
        return *o;
    }
};

}  // namespace detail

Registration& Registration::operator=(Registration&& other) noexcept {
    if (this != &other) {
        stop();
        parts_ = std::move(other.parts_);
        id_ = std::move(other.id_);
    }
    return *this;
}

Registration::~Registration() { stop(); }

Outcome Registration::stop() {
    if (!parts_) return {};
    auto parts = std::move(parts_);
    parts_.reset();
    try {
        return parts->deregister(id_);
    } catch (const std::exception& e) {
        return {MUSTER_INTERNAL, e.what()};
    }
}

Outcome Registration::set_health(muster_health health, std::string reason, std::chrono::milliseconds ttl) {
    if (!parts_) return {MUSTER_NOT_FOUND, "the registration was stopped"};
    if (health > MUSTER_HEALTH_CRITICAL) return {MUSTER_INVALID_ARGUMENT, "health is passing, warning or critical"};
    auto state = parts_->owned->health_of(id_);
    if (!state) return {MUSTER_NOT_FOUND, "instance " + id_ + " is not registered by this process"};
    state->push(health, std::move(reason), ttl.count(), sdk::system_ms());
    try {
        return parts_->publish(id_);
    } catch (const std::exception& e) {
        return {MUSTER_INTERNAL, e.what()};
    }
}

Outcome Registration::drain(bool on) {
    if (!parts_) return {MUSTER_NOT_FOUND, "the registration was stopped"};
    try {
        std::optional<Outcome> o = parts_->owned->update(
            id_, [on](sdk::Instance& inst) { return set_drain(inst, on, sdk::system_ms()); },
            [&](const sdk::Instance& inst) {
                muster::core::log::info("{} {} {}", inst.role, inst.id,
                                        on ? "draining: no new calls" : "no longer draining");
                return parts_->chain->register_instance(inst);
            });
        return o ? *o : Outcome{MUSTER_NOT_FOUND, "instance " + id_ + " is not registered by this process"};
    } catch (const std::exception& e) {
        return {MUSTER_INTERNAL, e.what()};
    }
}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        cancel();
        cache_ = std::move(other.cache_);
        token_ = other.token_;
    }
    return *this;
}

Subscription::~Subscription() { cancel(); }

void Subscription::cancel() {
    if (cache_) cache_->unsubscribe(token_);
    cache_.reset();
}

IndexWait& IndexWait::operator=(IndexWait&& other) noexcept {
    if (this != &other) {
        cancel();
        cache_ = std::move(other.cache_);
        token_ = other.token_;
    }
    return *this;
}

IndexWait::~IndexWait() { cancel(); }

void IndexWait::cancel() {
    if (!cache_) return;
    if (token_) cache_->cancel_wake(token_);
    cache_->unpin();
    cache_.reset();
}

Registry::Registry(std::shared_ptr<Chain> chain, RegistryOptions options)
        : chain_(std::move(chain)), options_(options) {
    if (options_.heartbeat_interval.count() <= 0 || options_.ttl.count() <= 0)
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, "heartbeat_interval and ttl must be positive");
    if (options_.heartbeat_interval >= options_.ttl)
        throw sdk::Error(
            MUSTER_INVALID_ARGUMENT,
            "heartbeat_interval must be shorter than the ttl, or every instance expires between heartbeats");
    if (!(options_.guard_fraction > 0.0 && options_.guard_fraction <= 1.0))
        throw sdk::Error(MUSTER_INVALID_ARGUMENT,
                         "guard_fraction must be above 0 and at most 1 (1 turns the mass-removal guard off)");
    options_.jitter = std::clamp(options_.jitter, 0.0, 0.5);
    parts_ = std::make_shared<detail::Parts>(chain_, options_);
    chain_->adopt(parts_->owned);
    checks_ = std::make_unique<CheckScheduler>(
        options_.check_workers,
        [this](const std::string& id, std::size_t check, const HealthResult& r) { checked(id, check, r); },
        check_stats_);
    heartbeat_thread_ = std::thread([this] { heartbeat_loop(); });
    maintenance_thread_ = std::thread([this] { maintenance_loop(); });
}

Registry::~Registry() {
    std::map<std::string, Subscription> own_roles;  // cancelled outside the lock: no callback runs after
    {
        std::lock_guard lk(parts_->own_roles_mu);
        own_roles.swap(parts_->own_roles);
    }
    own_roles.clear();
    checks_.reset();
    stop_.stop();
    maintenance_.stop();
    heartbeat_thread_.join();
    maintenance_thread_.join();
    for (const auto& id : parts_->owned->ids()) parts_->deregister(id);
    parts_->caches.stop();
}

std::chrono::milliseconds Registry::jittered(std::chrono::milliseconds base) const {
    thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> d(1.0 - options_.jitter, 1.0 + options_.jitter);
    return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng)));
}

void Registry::heartbeat_loop() {
    bool heartbeats_failing = false;
    auto next_reap = std::chrono::steady_clock::now() + options_.reap_interval;
    // The interval counts from the start of each beat: a beat that waited
    // out a hung link's write deadline does not push back the next beat to
    // the links that answer.
    auto beat = std::chrono::steady_clock::now();
    for (;;) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(beat + jittered(options_.heartbeat_interval) -
                                                                          std::chrono::steady_clock::now());
        if (!stop_.sleep(std::max(wait, std::chrono::milliseconds(0)))) break;
        beat = std::chrono::steady_clock::now();
        if (auto ids = parts_->owned->ids(); !ids.empty()) {
            // An id some store lost is written to it again by the chain.
            Outcome o = chain_->heartbeat(ids);
            // One line when heartbeats start failing and one when they
            // resume, not one per beat.
            if (!o.ok() && !heartbeats_failing) muster::core::log::warn("heartbeats failing: {}", o.message);
            if (o.ok() && heartbeats_failing) muster::core::log::info("heartbeats resumed");
            heartbeats_failing = !o.ok();
        }
        if (options_.reap_interval.count() > 0 && std::chrono::steady_clock::now() >= next_reap) {
            std::uint64_t n = 0;
            chain_->reap(options_.reap_retain.count(), n);
            if (n > 0) muster::core::log::info("reaped {} stale registrations", n);
            next_reap = std::chrono::steady_clock::now() + options_.reap_interval;
        }
    }
}

// Each round (and at once when a drain mark from outside is noted): the
// caches' upkeep, the health that changes without a check (dependencies,
// a pushed report's ttl), then the drain marks noted from outside, taken
// in and written back (so a store that heartbeats by putting the owner's
// value again keeps them).
void Registry::maintenance_loop() {
    while (maintenance_.sleep(options_.cache_refresh)) {
        parts_->caches.maintain();
        for (const Owned& o : parts_->owned->all()) {
            if (!o.depends_on.empty()) o.health->set_dependency_problem(parts_->dependency_problem(o.depends_on));
            if (!o.depends_on.empty() || o.health->expires()) parts_->publish(o.instance.id);
        }
        for (const auto& noted : parts_->take_drains())  // not a structured binding: clang 14 cannot capture one
            parts_->owned->update(
                noted.first,
                [&](sdk::Instance& inst) { return detail::Parts::adopt_outside_drain(inst, noted.second); },
                [this](const sdk::Instance& inst) { return chain_->register_instance(inst); });
    }
}

void Registry::watch_own_role(const std::string& role) {
    {
        std::lock_guard lk(parts_->own_roles_mu);
        if (parts_->own_roles.count(role)) return;
    }
    // Subscribed outside the lock: the first events (ADDED for what is
    // known) run in here.
    auto sub = watch(role, [this](const TopologyEvent& e) {
        if (e.type != MUSTER_EVENT_REMOVED && parts_->note_drain(e.instance)) maintenance_.nudge();
    });
    std::lock_guard lk(parts_->own_roles_mu);
    parts_->own_roles.try_emplace(role, std::move(sub));  // a racing twin's is dropped, unused
}

void Registry::checked(const std::string& id, std::size_t check, const HealthResult& r) {
    auto health = parts_->owned->health_of(id);
    if (!health) return;  // stopped meanwhile
    std::int64_t now = sdk::system_ms();
    health->record(check, r, now);
    parts_->publish(id);
    if (auto name = health->overdue(now)) {
        muster::core::log::warn("{}: check {} critical for longer than its deregister_critical_after; deregistering",
                                id, *name);
        parts_->deregister(id);
    }
}

Registration Registry::register_instance(InstanceSpec spec) {
    sdk::Instance inst;
    inst.id = spec.id.empty() ? new_instance_id() : sdk::normalised_id(spec.id);
    inst.role = std::move(spec.role);
    inst.address = std::move(spec.address);
    inst.metadata = std::move(spec.metadata);
    if (auto problem = sdk::check_own_metadata(inst.metadata); !problem.empty())
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    for (const auto& d : spec.depends_on)
        if (auto problem = sdk::check_role(d.role); !problem.empty())
            throw sdk::Error(MUSTER_INVALID_ARGUMENT, "depends_on: " + problem);
    auto check = [](const sdk::Instance& i) {
        sdk::CView view(i);
        if (auto problem = sdk::check_instance(view.get()); !problem.empty())
            throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    };
    check(inst);
    if (parts_->owned->owns(inst.id))
        throw sdk::Error(MUSTER_CONFLICT, "instance " + inst.id + " is already registered by this process");
    // The first verdicts before the first write: an instance appears with
    // its real health, not passing until a check says otherwise.
    auto health = std::make_shared<HealthState>(spec.checks, options_.dependency_severity);
    std::int64_t now = sdk::system_ms();
    auto first = checks_->run_once(inst, spec.checks);
    for (std::size_t i = 0; i < first.size(); ++i) health->record(i, first[i], now);
    if (!spec.depends_on.empty()) health->set_dependency_problem(parts_->dependency_problem(spec.depends_on));
    HealthState::apply(health->verdict(now), inst);
    check(inst);  // with the reserved keys
    Outcome o = chain_->register_instance(inst);
    if (!o.ok()) throw sdk::Error(o.status, o.message);
    parts_->owned->add(Owned{inst, health, std::move(spec.depends_on)});
    if (!spec.checks.empty()) checks_->add(inst, health);
    // This process watches its own role: a drain mark another process sets
    // on the instance reaches it there (note_drain). A resolve
    // after this returns lists the instance.
    watch_own_role(inst.role);
    parts_->caches.await_listed(inst, 2 * options_.cache_refresh);
    muster::core::log::info("registered {} {} at {} ({})", inst.role, inst.id, inst.address,
                            sdk::health_name(inst.health));
    return Registration(parts_, inst.id);
}

std::shared_ptr<const RoleSnapshot> Registry::resolve(const std::string& role) {
    if (auto snap = parts_->caches.find(role)) return snap;
    if (auto problem = sdk::check_role(role); !problem.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    return parts_->caches.get(role)->load();
}

Subscription Registry::watch(const std::optional<std::string>& role, TopologyCallback callback) {
    return subscribe(role, std::move(callback), nullptr);
}

Subscription Registry::watch(const std::optional<std::string>& role, TopologyCallback callback,
                             std::shared_ptr<const RoleSnapshot>& start) {
    return subscribe(role, std::move(callback), &start);
}

Subscription Registry::subscribe(const std::optional<std::string>& role, TopologyCallback callback,
                                 std::shared_ptr<const RoleSnapshot>* start) {
    if (role)
        if (auto problem = sdk::check_role(*role); !problem.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    auto cache = parts_->caches.get(role);
    std::uint64_t token = cache->subscribe(std::move(callback), start);
    return Subscription(cache, token);
}

IndexWait Registry::wake_after(const std::string& role, std::uint64_t after, std::function<void()> wake) {
    if (auto problem = sdk::check_role(role); !problem.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    return wait_on(parts_->caches.get(role), after, std::move(wake));
}

IndexWait Registry::wake_after_every_role(std::uint64_t after, std::function<void()> wake) {
    return wait_on(parts_->caches.get(std::nullopt), after, std::move(wake));
}

IndexWait Registry::wait_on(std::shared_ptr<RoleCache> cache, std::uint64_t after, std::function<void()> wake) {
    IndexWait w;
    w.cache_ = std::move(cache);
    w.cache_->pin();
    w.token_ = w.cache_->wake_after(after, std::move(wake));
    return w;
}

std::shared_ptr<const RoleSnapshot> Registry::resolve_every_role() {
    if (auto snap = cached_every_role()) return snap;
    return parts_->caches.get(std::nullopt)->load();
}

std::shared_ptr<const RoleSnapshot> Registry::cached_every_role() const { return parts_->caches.find_every_role(); }

std::shared_ptr<Picker> Registry::picker(const std::string& role, PickerOptions options) {
    if (auto problem = sdk::check_role(role); !problem.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    return std::make_shared<Picker>(parts_->caches.get(role), std::move(options));
}

Outcome Registry::reap(std::chrono::milliseconds retain, std::uint64_t& removed) {
    return chain_->reap(retain.count(), removed);
}

std::vector<std::shared_ptr<const RoleSnapshot>> Registry::cached() const { return parts_->caches.snapshots(); }

std::shared_ptr<const RoleSnapshot> Registry::cached(const std::string& role) const {
    return parts_->caches.find(role);
}

const RoleSnapshot* Registry::peek(const std::string& role) const { return parts_->caches.peek(role); }

std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> Registry::events() const {
    return parts_->caches.events();
}

std::size_t Registry::owned_count() const { return parts_->owned->ids().size(); }

}  // namespace muster::core
