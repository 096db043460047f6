// The API an application embeds (the seed's ServiceBootstrap): register
// instances that heartbeat by themselves and deregister gracefully, resolve
// roles from a client-side cache, watch topology changes, reap the stale.
//
//   muster::core::Registry registry(chain, {.heartbeat_interval = 10s, .ttl = 30s});
//   auto reg = registry.register_instance({.role = "querier", .address = "10.0.0.5:7001"});
//   auto queriers = registry.resolve("querier");   // cached, lock-free
//   auto sub = registry.watch("querier", [](const TopologyEvent& e) { ... });
//   // reg's destructor (or reg.stop()) deregisters.
#pragma once

#include <muster/core/chain.hpp>
#include <muster/core/check_spec.hpp>
#include <muster/core/check_stats.hpp>
#include <muster/core/picker.hpp>
#include <muster/core/role_cache.hpp>
#include <muster/core/stop_signal.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace muster::core {

struct RegistryOptions {
    std::chrono::milliseconds heartbeat_interval{10000};
    std::chrono::milliseconds ttl{30000};
    double jitter = 0.1;                            // each heartbeat waits interval * (1 +- jitter)
    std::chrono::milliseconds cache_refresh{1000};  // poll for roles no backend watches
    // Threads that run health checks (more stand in while one hangs).
    std::size_t check_workers = 4;
    // What an instance publishes while a dependency is short of passing
    // instances (InstanceSpec::depends_on).
    muster_health dependency_severity = MUSTER_HEALTH_WARNING;
    std::chrono::milliseconds reap_interval{0};  // 0: never reap by itself
    std::chrono::milliseconds reap_retain{0};
    // The removal guard of each cached role (role_cache.hpp): 1 turns it
    // off. This process's own stops count as explained for a ttl.
    double guard_fraction = 0.5;
    // Roles cached at most, and how long an unused one stays (CacheLimits):
    // names a client makes up cannot grow the process.
    std::size_t max_roles = 1024;
    std::chrono::milliseconds role_idle{300000};
};

// What to register. An empty id gets a new random UUID. Metadata keys may
// not start with "muster." (the keys muster writes itself).
struct InstanceSpec {
    std::string role;
    std::string address;
    std::string id;
    std::map<std::string, std::string> metadata;
    std::vector<CheckSpec> checks;
    std::vector<Dependency> depends_on;
};

class Registry;
class CheckScheduler;
namespace detail {
struct Parts;
}

// A registration this process owns. Heartbeats run while it lives; stop()
// or the destructor deregisters it gracefully. Move-only.
class Registration {
public:
    Registration() = default;
    Registration(Registration&&) noexcept = default;
    Registration& operator=(Registration&& other) noexcept;
    ~Registration();

    const std::string& id() const { return id_; }
    // Graceful deregistration; idempotent.
    Outcome stop();
    // The application's own verdict on its health (Consul's TTL check),
    // combined with its checks (the worst wins). With ttl > 0 it turns
    // critical unless pushed again within ttl. NOT_FOUND once stopped.
    Outcome set_health(muster_health health, std::string reason = {},
                       std::chrono::milliseconds ttl = std::chrono::milliseconds(0));
    // Drains the instance (or ends the drain): still listed, with
    // MUSTER_META_DRAIN, but never picked for new calls by any process's
    // Picker. NOT_FOUND once stopped.
    Outcome drain(bool on = true);

private:
    friend class Registry;
    Registration(std::shared_ptr<detail::Parts> parts, std::string id) : parts_(std::move(parts)), id_(std::move(id)) {}
    // Shared with the registry, so a Registration may outlive it (there is
    // then nothing left to stop).
    std::shared_ptr<detail::Parts> parts_;
    std::string id_;
};

// A topology subscription; destroying it unsubscribes. Move-only.
class Subscription {
public:
    Subscription() = default;
    Subscription(Subscription&&) noexcept = default;
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription();
    void cancel();

private:
    friend class Registry;
    Subscription(std::shared_ptr<RoleCache> cache, std::uint64_t token) : cache_(std::move(cache)), token_(token) {}
    std::shared_ptr<RoleCache> cache_;
    std::uint64_t token_ = 0;
};

// A wait for a role's next change (Registry::wake_after): the role's cache
// is pinned (kept) while it waits; cancel() or destruction withdraws the
// wake.
class IndexWait {
public:
    IndexWait() = default;
    IndexWait(IndexWait&&) noexcept = default;
    IndexWait& operator=(IndexWait&& other) noexcept;
    ~IndexWait();
    void cancel();

private:
    friend class Registry;
    std::shared_ptr<RoleCache> cache_;
    std::uint64_t token_ = 0;
};

// The parts (docs/architecture.md): the registrations this process owns
// (Ownership, which the chain adopts to write back what a link missed), the
// role caches (CacheSet), the health checks' scheduler, and two threads:
// one heartbeats and reaps, one keeps the caches and the dependencies.
class Registry {
public:
    // Adopts `chain` (Chain::adopt): throws sdk::Error CONFLICT when another
    // live registry has it, INVALID_ARGUMENT for bad options.
    Registry(std::shared_ptr<Chain> chain, RegistryOptions options);
    // Stops the threads and deregisters whatever is still registered.
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Validates (rules F1-F5), runs each check once (the first verdicts,
    // taken as they come), writes through the chain, and starts
    // heartbeating and checking. Throws sdk::Error with the status on
    // failure; nothing is written when the input is invalid.
    Registration register_instance(InstanceSpec spec);

    // The live instances of `role`, from the cache. The first call for a
    // role reads through the chain and starts watching it. Never throws for
    // a backend failure: the last good answer comes back marked stale (or
    // an empty stale one if there never was an answer). Throws sdk::Error
    // for an invalid role name (INVALID_ARGUMENT), or when max_roles roles
    // are cached and in use (UNAVAILABLE).
    std::shared_ptr<const RoleSnapshot> resolve(const std::string& role);

    // Subscribes to the changes of `role` (nullopt: every role). The
    // callback first gets ADDED for every known instance; it runs on a
    // background thread, one event at a time, and may call anything of the
    // registry but destroy it (a cancel() of its own subscription only
    // stops later calls). Throws sdk::Error INVALID_ARGUMENT for an invalid
    // role, UNAVAILABLE when max_roles roles are cached and in use.
    Subscription watch(const std::optional<std::string>& role, TopologyCallback callback);
    // The same, but instead of those ADDEDs `start` is set to the snapshot
    // they would have come from (null when nothing is known yet): an
    // event stream writes it from the shared snapshot rather than queue a
    // copy of every instance per subscriber.
    Subscription watch(const std::optional<std::string>& role, TopologyCallback callback,
                       std::shared_ptr<const RoleSnapshot>& start);
    // Calls `wake` once when the index of `role` passes `after` (at once if
    // it has): a blocking query's wait, with no events to copy and no
    // timer. `wake` runs on a publishing thread and must only hand off.
    // Throws like watch().
    IndexWait wake_after(const std::string& role, std::uint64_t after, std::function<void()> wake);

    // A picker over `role` (docs/routing.md); the role is cached and watched
    // like resolve()'s. The picker must outlive its Calls. Throws
    // sdk::Error for an invalid role name.
    std::shared_ptr<Picker> picker(const std::string& role, PickerOptions options = {});

    // Deletes registrations stopped or stale for longer than retain.
    Outcome reap(std::chrono::milliseconds retain, std::uint64_t& removed);

    Chain& chain() { return *chain_; }
    const RegistryOptions& options() const { return options_; }
    // The snapshot of `role` if it is cached already (nullptr otherwise),
    // without reading through the chain. Lock-free. THREADING: any thread.
    std::shared_ptr<const RoleSnapshot> cached(const std::string& role) const;
    // The same, borrowed without a reference count: valid on this thread
    // until its next resolve(), cached() or peek(). For a caller that keeps
    // its own reference to snapshots it has seen (libmuster's C views).
    // THREADING: any thread.
    const RoleSnapshot* peek(const std::string& role) const;
    // The same for the cache of every role at once (what a catalog of roles
    // reads: which roles have instances, and an index that moves with any
    // of them): resolve_every_role() may read through the chain the first
    // time; cached_every_role() never does. Throw like resolve().
    std::shared_ptr<const RoleSnapshot> resolve_every_role();
    std::shared_ptr<const RoleSnapshot> cached_every_role() const;
    IndexWait wake_after_every_role(std::uint64_t after, std::function<void()> wake);
    // Age and origin of each cached role, for status output.
    std::vector<std::shared_ptr<const RoleSnapshot>> cached() const;
    // How many instances this registry registered and still heartbeats.
    std::size_t owned_count() const;
    // Topology events each cached role has told so far: added, changed,
    // removed.
    std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> events() const;
    // Runs of the health checks so far, by check name.
    std::vector<CheckStats::Check> check_stats() const { return check_stats_->snapshot(); }

private:
    std::chrono::milliseconds jittered(std::chrono::milliseconds base) const;
    static IndexWait wait_on(std::shared_ptr<RoleCache> cache, std::uint64_t after, std::function<void()> wake);
    Subscription subscribe(const std::optional<std::string>& role, TopologyCallback callback,
                           std::shared_ptr<const RoleSnapshot>* start);
    void heartbeat_loop();
    void maintenance_loop();
    // Follows the cache of `role` (one this process registers in) for drain
    // marks other processes write on its instances.
    void watch_own_role(const std::string& role);
    // One check's result reached the instance's health.
    void checked(const std::string& id, std::size_t check, const HealthResult& r);

    std::shared_ptr<Chain> chain_;
    RegistryOptions options_;
    std::shared_ptr<detail::Parts> parts_;
    std::shared_ptr<CheckStats> check_stats_ = std::make_shared<CheckStats>();
    std::unique_ptr<CheckScheduler> checks_;
    StopSignal stop_;
    // The maintenance thread's own, nudged when a drain mark from outside
    // is seen (watch_own_role).
    StopSignal maintenance_;
    std::thread heartbeat_thread_, maintenance_thread_;
};

// A new random (version 4) UUID in canonical lowercase form.
std::string new_instance_id();

}  // namespace muster::core
