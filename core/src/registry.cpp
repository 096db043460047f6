#include <muster/core/clock.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/validate.hpp>

#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <random>
#include <thread>
#include <unordered_map>

namespace muster::core {

namespace {


// The key of the every-role cache: not a valid role name, so no clash.
const std::string kAllRoles = "*";

using CacheMap = std::unordered_map<std::string, std::shared_ptr<RoleCache>>;

}  // namespace

std::string new_instance_id() {
    thread_local boost::uuids::random_generator gen;
    return boost::uuids::to_string(gen());
}

namespace detail {

struct Owned {
    sdk::Instance instance;
    std::vector<std::shared_ptr<HealthClient>> checks;
};

struct RegistryState {
    std::shared_ptr<Chain> chain;
    RegistryOptions opt;

    std::mutex mu;  // guards owned, stopping
    // Orders writes about one owned instance: a write-back by reconcile()
    // or a new health verdict never lands after the deregistration that
    // stopped it, which would revive it.
    std::mutex write_mu;
    std::condition_variable cv;
    bool stopping = false;
    std::map<std::string, Owned> owned;

    // Readers load the map pointer without a lock; a new role publishes a
    // new map and keeps the old one until the registry goes, since a reader
    // may still hold it.
    std::mutex cache_mu;
    std::atomic<const CacheMap*> caches{nullptr};
    std::vector<std::unique_ptr<const CacheMap>> maps;

    std::thread heartbeat_thread, maintenance_thread;

    std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
        thread_local std::mt19937 rng{std::random_device{}()};
        std::uniform_real_distribution<double> d(1.0 - opt.jitter, 1.0 + opt.jitter);
        return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng)));
    }

    // Sleeps until `d` passes or the registry stops; false when stopping.
    bool sleep(std::chrono::milliseconds d) {
        std::unique_lock lk(mu);
        return !cv.wait_for(lk, d, [this] { return stopping; });
    }

    Outcome deregister(const std::string& id) {
        std::lock_guard w(write_mu);
        std::string role;
        {
            std::lock_guard lk(mu);
            auto it = owned.find(id);
            if (it == owned.end()) return {};  // already stopped
            role = it->second.instance.role;
            owned.erase(it);
        }
        // Our own caches see this removal as explained (not held), whichever
        // way it reaches them.
        if (const CacheMap* m = caches.load(std::memory_order_acquire))
            for (const std::string& key : {role, kAllRoles})
                if (auto c = m->find(key); c != m->end()) c->second->note_stopped(id, wall_ms());
        Outcome o = chain->deregister(id);
        if (o.ok()) spdlog::info("deregistered {}", id);
        else spdlog::warn("deregister {} failed ({}); it expires after the ttl", id, o.message);
        return o;
    }

    void heartbeat_loop() {
        bool heartbeats_failing = false;
        auto next_reap = std::chrono::steady_clock::now() + opt.reap_interval;
        // The interval counts from the start of each beat: a beat that
        // waited out a hung link's write deadline does not push back the
        // next beat to the links that answer.
        auto beat = std::chrono::steady_clock::now();
        for (;;) {
            auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                beat + jittered(opt.heartbeat_interval) - std::chrono::steady_clock::now());
            if (!sleep(std::max(wait, std::chrono::milliseconds(0)))) break;
            beat = std::chrono::steady_clock::now();
            std::vector<std::string> ids;
            {
                std::lock_guard lk(mu);
                for (const auto& [id, o] : owned) ids.push_back(id);
            }
            if (!ids.empty()) {
                // An id some store lost is written to it again by the chain.
                Outcome o = chain->heartbeat(ids);
                // One line when heartbeats start failing and one when they
                // resume, not one per beat.
                if (!o.ok() && !heartbeats_failing) spdlog::warn("heartbeats failing: {}", o.message);
                if (o.ok() && heartbeats_failing) spdlog::info("heartbeats resumed");
                heartbeats_failing = !o.ok();
            }
            if (opt.reap_interval.count() > 0 && std::chrono::steady_clock::now() >= next_reap) {
                std::uint64_t n = 0;
                chain->reap(opt.reap_retain.count(), n);
                if (n > 0) spdlog::info("reaped {} stale registrations", n);
                next_reap = std::chrono::steady_clock::now() + opt.reap_interval;
            }
        }
    }

    void run_checks() {
        std::vector<Owned> todo;
        {
            std::lock_guard lk(mu);
            for (const auto& [id, o] : owned)
                if (!o.checks.empty()) todo.push_back(o);
        }
        for (auto& o : todo) {
            muster_health worst = MUSTER_HEALTH_PASSING;
            std::string why;
            for (const auto& c : o.checks) {
                HealthResult r = c->check(o.instance, opt.check_timeout.count());
                if (r.health > worst) {
                    worst = r.health;
                    why = c->name() + ": " + r.reason;
                }
            }
            if (worst == o.instance.health) continue;
            std::lock_guard w(write_mu);
            {
                std::lock_guard lk(mu);
                auto it = owned.find(o.instance.id);
                if (it == owned.end()) continue;
                it->second.instance.health = worst;
                o.instance = it->second.instance;
            }
            spdlog::info("{} {} is now {}{}{}", o.instance.role, o.instance.id, sdk::health_name(worst),
                         why.empty() ? "" : ": ", why);
            chain->register_instance(o.instance);
        }
    }

    void refresh(RoleCache& cache) {
        const std::string* role = cache.role() ? &*cache.role() : nullptr;
        std::uint64_t ticket = cache.poll_ticket();
        ChainRead r = chain->list(role, 0);
        if (r.outcome.ok()) cache.publish_polled(ticket, std::move(r.instances), r.backend, wall_ms());
        else cache.mark_stale(wall_ms());
    }

    // The chain's Reconcile: brings one backend up to date with what we own
    // (every registration, or the given ids). Each id is settled under
    // write_mu against `owned` as it is then, so it cannot overtake the
    // deregistration of the same instance and revive it.
    Outcome reconcile(const Chain::LinkCall& call, const std::set<std::string>* ids) {
        std::vector<std::string> todo;
        if (ids) {
            todo.assign(ids->begin(), ids->end());
        } else {
            std::lock_guard lk(mu);
            for (const auto& [id, o] : owned) todo.push_back(id);
        }
        for (const auto& id : todo) {
            std::lock_guard w(write_mu);
            std::optional<sdk::Instance> mine;
            {
                std::lock_guard lk(mu);
                if (auto it = owned.find(id); it != owned.end()) mine = it->second.instance;
            }
            Outcome o = mine ? call([inst = *mine](BackendClient& b) { return b.register_instance(inst); })
                             : call([id](BackendClient& b) { return b.deregister(id); });
            // NOT_FOUND (nothing to stop) and a refusal (CONFLICT) leave
            // nothing to retry; only a link that is down does.
            if (Chain::moves_on(o.status)) return o;
        }
        return {};
    }

    // Asks every backend that is up about the instances the cache's guard
    // holds: those none lists live any more are removed.
    void verify_held(RoleCache& cache) {
        if (cache.held_ids().empty()) return;
        const std::string* role = cache.role() ? &*cache.role() : nullptr;
        if (auto live = chain->live_anywhere(role)) cache.verify_held(*live);
    }

    // Keeps each cache's watch on the preferred backend that is up: moves it
    // when that backend fails, and back when a better one recovers. A
    // watch's ERROR counts against its backend's breaker.
    void route_watch(RoleCache& cache) {
        std::weak_ptr<Chain> weak_chain = chain;
        cache.follow(chain->watch_source(), [weak_chain](const BackendClient& source, const std::string& why) {
            if (auto ch = weak_chain.lock()) ch->report_failure(source, why);
        });
    }

    void maintenance_loop() {
        auto next_check = std::chrono::steady_clock::now();
        while (sleep(opt.cache_refresh)) {
            if (const CacheMap* m = caches.load(std::memory_order_acquire))
                for (const auto& [key, cache] : *m) {
                    route_watch(*cache);
                    if (cache->polled()) refresh(*cache);
                    else cache->confirm(wall_ms());
                    verify_held(*cache);
                }
            if (std::chrono::steady_clock::now() >= next_check) {
                run_checks();
                next_check = std::chrono::steady_clock::now() + opt.check_interval;
            }
        }
    }

    void shutdown() {
        {
            std::lock_guard lk(mu);
            stopping = true;
        }
        cv.notify_all();
        if (heartbeat_thread.joinable()) heartbeat_thread.join();
        if (maintenance_thread.joinable()) maintenance_thread.join();
        std::vector<std::string> ids;
        {
            std::lock_guard lk(mu);
            for (const auto& [id, o] : owned) ids.push_back(id);
        }
        for (const auto& id : ids) deregister(id);
        if (const CacheMap* m = caches.load())
            for (const auto& [key, cache] : *m) cache->stop_watch();
    }

    std::shared_ptr<RoleCache> cache_for(const std::optional<std::string>& role) {
        const std::string& key = role ? *role : kAllRoles;
        std::lock_guard lk(cache_mu);
        const CacheMap* current = caches.load(std::memory_order_acquire);
        if (current)
            if (auto it = current->find(key); it != current->end()) return it->second;
        auto cache = std::make_shared<RoleCache>(
            role, MassRemovalGuard{opt.guard_fraction, opt.ttl.count()});
        refresh(*cache);
        if (!cache->load()) {  // no backend answered: an empty answer, marked stale
            cache->publish({}, "", wall_ms());
            cache->mark_stale(wall_ms());
        }
        route_watch(*cache);
        auto next = std::make_unique<CacheMap>(current ? *current : CacheMap{});
        next->emplace(key, cache);
        caches.store(next.get(), std::memory_order_release);
        maps.push_back(std::move(next));
        return cache;
    }
};

}  // namespace detail

Registration& Registration::operator=(Registration&& other) noexcept {
    if (this != &other) {
        stop();
        state_ = std::move(other.state_);
        id_ = std::move(other.id_);
    }
    return *this;
}

Registration::~Registration() { stop(); }

Outcome Registration::stop() {
    if (!state_) return {};
    auto state = std::move(state_);
    state_.reset();
    try {
        return state->deregister(id_);
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

Registry::Registry(std::shared_ptr<Chain> chain, RegistryOptions options)
    : chain_(std::move(chain)), options_(options), state_(std::make_shared<detail::RegistryState>()) {
    if (options_.heartbeat_interval.count() <= 0 || options_.ttl.count() <= 0)
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, "heartbeat_interval and ttl must be positive");
    if (options_.heartbeat_interval >= options_.ttl)
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, "heartbeat_interval must be shorter than the ttl, or every instance expires between heartbeats");
    if (!(options_.guard_fraction > 0.0 && options_.guard_fraction <= 1.0))
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, "guard_fraction must be above 0 and at most 1 (1 turns the mass-removal guard off)");
    options_.jitter = std::clamp(options_.jitter, 0.0, 0.5);
    state_->chain = chain_;
    state_->opt = options_;
    chain_->set_reconcile(
        [s = state_.get()](const Chain::LinkCall& call, const std::set<std::string>* ids) { return s->reconcile(call, ids); });
    state_->heartbeat_thread = std::thread([s = state_.get()] { s->heartbeat_loop(); });
    state_->maintenance_thread = std::thread([s = state_.get()] { s->maintenance_loop(); });
}

Registry::~Registry() {
    chain_->set_reconcile(nullptr);  // the chain may outlive this registry
    state_->shutdown();
}

Registration Registry::register_instance(InstanceSpec spec) {
    sdk::Instance inst;
    inst.id = spec.id.empty() ? new_instance_id() : sdk::normalised_id(spec.id);
    inst.role = std::move(spec.role);
    inst.address = std::move(spec.address);
    inst.metadata = std::move(spec.metadata);
    sdk::CView view(inst);
    if (auto problem = sdk::check_instance(view.get()); !problem.empty())
        throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    {
        std::lock_guard lk(state_->mu);
        if (state_->owned.count(inst.id))
            throw sdk::Error(MUSTER_CONFLICT, "instance " + inst.id + " is already registered by this process");
    }
    Outcome o = chain_->register_instance(inst);
    if (!o.ok()) throw sdk::Error(o.status, o.message);
    {
        std::lock_guard lk(state_->mu);
        state_->owned[inst.id] = detail::Owned{inst, std::move(spec.checks)};
    }
    spdlog::info("registered {} {} at {}", inst.role, inst.id, inst.address);
    return Registration(state_, inst.id);
}

namespace {
// Each reader thread remembers the last snapshot it took of a few caches, so
// that the common case (nothing changed) costs one atomic load and a
// reference count, not a load of the atomic shared_ptr.
struct Remembered {
    const RoleCache* cache = nullptr;
    std::uint64_t version = 0;
    std::shared_ptr<const RoleSnapshot> snapshot;
};
thread_local std::array<Remembered, 8> remembered;
}  // namespace

std::shared_ptr<const RoleSnapshot> Registry::resolve(const std::string& role) {
    if (const CacheMap* m = state_->caches.load(std::memory_order_acquire))
        if (auto it = m->find(role); it != m->end()) {
            const RoleCache* cache = it->second.get();
            std::uint64_t version = cache->version();
            Remembered& r = remembered[(reinterpret_cast<std::uintptr_t>(cache) >> 6) % remembered.size()];
            if (r.cache == cache && r.version == version && r.snapshot) return r.snapshot;
            if (auto snap = cache->load()) {
                r = {cache, version, snap};
                return snap;
            }
        }
    if (auto problem = sdk::check_role(role); !problem.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    return state_->cache_for(role)->load();
}

Subscription Registry::watch(const std::optional<std::string>& role, TopologyCallback callback) {
    if (role)
        if (auto problem = sdk::check_role(*role); !problem.empty()) throw sdk::Error(MUSTER_INVALID_ARGUMENT, problem);
    auto cache = state_->cache_for(role);
    std::uint64_t token = cache->subscribe(std::move(callback));
    return Subscription(cache, token);
}

Outcome Registry::reap(std::chrono::milliseconds retain, std::uint64_t& removed) {
    return chain_->reap(retain.count(), removed);
}

std::vector<std::shared_ptr<const RoleSnapshot>> Registry::cached() const {
    std::vector<std::shared_ptr<const RoleSnapshot>> out;
    if (const CacheMap* m = state_->caches.load(std::memory_order_acquire))
        for (const auto& [key, cache] : *m)
            if (auto s = cache->load()) out.push_back(s);
    return out;
}

}  // namespace muster::core
