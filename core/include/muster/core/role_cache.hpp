// The client-side cache of one role (or of every role): the last snapshot,
// published as an immutable object that readers take without locks, and
// the subscribers told of each difference between two snapshots.
#pragma once

#include <muster/core/backend_client.hpp>
#include <muster/core/instance_list.hpp>
#include <muster/cpp/diff.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace muster::core {

// What resolve() answers: immutable, shared by every reader.
struct RoleSnapshot {
    RoleSnapshot() = default;
    RoleSnapshot(const RoleSnapshot& o)
            : role(o.role),
              instances(o.instances),
              backend(o.backend),
              as_of_ms(o.as_of_ms.load()),
              stale(o.stale),
              held(o.held),
              index(o.index) {}
    RoleSnapshot& operator=(const RoleSnapshot&) = delete;

    std::optional<std::string> role;  // nullopt: every role
    InstanceList instances;           // live ones, by id
    std::string backend;              // which backend gave it
    // Wall clock when last known current, re-stamped in place each second
    // while a watch feeds it: the one field that changes in a published
    // snapshot, so that a role of 100,000 is not copied each second to say
    // it is still fresh.
    mutable std::atomic<std::int64_t> as_of_ms{0};
    bool stale = false;       // every backend failed since as_of_ms
    std::size_t held = 0;     // instances kept by the mass-removal
                              // guard against `backend`'s word
    std::uint64_t index = 0;  // changes only when the instances do
                              // (a blocking query's index), unique
                              // across roles

    // True when some instance is passing and not drained: what a
    // local-first answer (regions) asks of every snapshot it serves.
    // Worked out once per published snapshot, so a big role with no such
    // instance costs one scan per change, not one per query.
    bool any_eligible() const;

private:
    mutable std::atomic<std::int8_t> any_eligible_{-1};  // -1: not worked out yet
};

// The removal guard (Eureka's self-preservation, per instance): a removal
// the store explains (the instance was stopped: a stopped_at, a delete
// marker, or this process deregistered it) is published at once; one it
// does not (the instance just vanished: expired, a store restarted empty)
// is held, still listed, until the chain is asked and no backend lists it
// live any more. One answer that drops more than `fraction` of a role that
// way is a mass removal, and says so in the log. fraction 1 turns the
// guard off: every removal is published at once.
struct MassRemovalGuard {
    double fraction = 0.5;
    std::int64_t window_ms = 30000;  // how long this process's own stops count as explained
};

// A change of topology, as subscribers see it.
struct TopologyEvent {
    muster_event_type type;  // ADDED, CHANGED or REMOVED
    sdk::Instance instance;
    std::string backend;
};

using TopologyCallback = std::function<void(const TopologyEvent&)>;

class RoleCache : public std::enable_shared_from_this<RoleCache> {
public:
    explicit RoleCache(std::optional<std::string> role, MassRemovalGuard guard = {});

    const std::optional<std::string>& role() const { return role_; }

    // Lock-free for readers; nullptr until the first publish.
    std::shared_ptr<const RoleSnapshot> load() const { return current_.load(std::memory_order_acquire); }
    // Changes with every publish, and is unique across all caches of the
    // process, so a reader may keep (cache, version) -> snapshot of its own.
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

    // Publishes a fresh answer and tells subscribers the differences.
    void publish(std::vector<sdk::Instance> instances, const std::string& backend, std::int64_t now_ms);
    // A poll of the chain takes a ticket before it reads and publishes with
    // it: the answer is dropped if anything was published in between (the
    // watch came back), since the poll's answer may be the older one and
    // would briefly revive an instance the watch has just removed.
    std::uint64_t poll_ticket();
    bool publish_polled(std::uint64_t ticket, std::vector<sdk::Instance> instances, const std::string& backend,
                        std::int64_t now_ms);
    // Every backend failed: keep serving the last answer, marked stale.
    void mark_stale(std::int64_t now_ms);
    // A healthy watch vouches that the snapshot is still current: re-stamp
    // its as_of_ms (at most once a second), so its age means "how old".
    void confirm(std::int64_t now_ms);

    // Adds a subscriber; it first gets ADDED for every instance already
    // known, before this returns (unless called from a callback of this
    // cache: then right after that callback). Returns a token for
    // unsubscribe().
    //
    // Callbacks run outside the cache's lock, one at a time per cache, in
    // order, on whichever thread published (a watch's, the maintenance
    // thread, a subscriber's): a callback may call anything of the registry
    // (deregister, subscribe, unsubscribe, resolve) without deadlock.
    //
    // With `start`, no ADDED is sent for what is known: *start is set to
    // the snapshot they would have come from (null when there is none
    // yet), and the callback gets only what changes after it. A stream
    // that writes the snapshot itself holds it shared, not a copy per
    // subscriber.
    std::uint64_t subscribe(TopologyCallback callback, std::shared_ptr<const RoleSnapshot>* start = nullptr);
    // After it returns the callback never runs again: it waits for a call
    // in progress on another thread. From the subscriber's own callback it
    // only stops later calls (it cannot wait for itself).
    void unsubscribe(std::uint64_t token);

    // Calls `wake` once, as soon as the snapshot's index passes `after`: at
    // once on this thread if it has, else on the thread that publishes the
    // change, outside the cache's lock. Since it runs on a publishing
    // thread, `wake` must only hand off (post to an executor). Returns a
    // token for cancel_wake(); 0 when `wake` ran already. A blocking query
    // waits this way: woken by the change, with no timer polling the index.
    // THREADING: any thread.
    std::uint64_t wake_after(std::uint64_t after, std::function<void()> wake);
    // After it returns the wake of `token` is not called, unless a
    // publishing thread is calling it now (it only hands off).
    void cancel_wake(std::uint64_t token);

    // Applies one backend watch event to the working set; a publish follows
    // each change once the watch is synced. After an ERROR the watch's
    // events are held until its resync ends (SYNCED) while the chain is
    // polled, so the two never publish over each other. Called from one
    // plugin thread at a time.
    void apply(const BackendEvent& ev, const std::string& backend, std::int64_t now_ms);

    // Keeps this cache's watch on `source`, the chain's preferred backend
    // that is up (nullptr: none; the cache is then polled). A watch on a
    // new backend starts from an empty working set, and its initial state
    // is published as one resync: subscribers get exactly the differences,
    // and its unexplained removals are held like any (the new backend may
    // not yet have what another process is writing back to it). `on_error`
    // hears the watch's ERROR events. The cache must be owned by a
    // shared_ptr. THREADING: any thread (serialised with stop_watch()),
    // never from a callback of a watch.
    using WatchError = std::function<void(const BackendClient& source, const std::string& why)>;
    void follow(const std::shared_ptr<BackendClient>& source, WatchError on_error);
    // True while no healthy watch feeds the cache: the chain is polled then.
    bool polled() const { return !watching_ || watch_failed_; }
    // Ends the watch for good (the registry is shutting down, or the cache
    // was dropped): a later follow() does nothing. THREADING: any thread.
    void stop_watch();

    // What keeps the cache from being dropped (CacheSet): subscribers,
    // pins (a Picker holds one), and when it was last asked for.
    std::size_t subscribers() const;
    void pin() { pins_.fetch_add(1, std::memory_order_relaxed); }
    void unpin() { pins_.fetch_sub(1, std::memory_order_relaxed); }
    bool pinned() const { return pins_.load(std::memory_order_relaxed) > 0; }
    // `tick` is the set's coarse clock: written only when it moved, so
    // readers on many threads do not share a written cache line.
    void used_at(std::int64_t tick) {
        if (last_used_.load(std::memory_order_relaxed) != tick) last_used_.store(tick, std::memory_order_relaxed);
    }
    std::int64_t last_used() const { return last_used_.load(std::memory_order_relaxed); }

    // This process is stopping `id`: its removal is explained, not held.
    // Called before the deregistration is written, so that the removal
    // event, which may come first, finds it.
    void note_stopped(const std::string& id, std::int64_t now_ms);

    // Topology events this cache has told so far, by type: added, changed,
    // removed (whether or not anyone subscribed).
    std::array<std::uint64_t, 3> events() const { return {events_[0].load(), events_[1].load(), events_[2].load()}; }

    // The ids the guard holds now (empty: nothing to verify).
    std::vector<std::string> held_ids() const;
    // The verdict on the held ids: those in `live` (listed live by some
    // backend) stay held; the rest are removed and subscribers told.
    void verify_held(const std::set<std::string>& live);

private:
    struct Subscriber {
        TopologyCallback callback;
        std::deque<TopologyEvent> pending;  // told, not yet delivered
    };
    void begin_resync();
    // Delivers what is pending; returns when nothing is, or at once when a
    // delivery runs already (on this thread up the stack, or on another,
    // which will deliver what was added). With `wait_for`, waits until
    // that subscriber's pending events have been delivered. Call without
    // delivery_mu_ held.
    void deliver(const std::shared_ptr<Subscriber>& wait_for = nullptr);
    // Calls the wakes whose index has passed (deliver() does, first).
    void wake_waiters();

    std::optional<std::string> role_;
    // The watch feeding this cache (empty: polled) and the backend it runs
    // on: follow() and stop_watch() only, under watch_mu_.
    std::mutex watch_mu_;
    bool retired_ = false;               // stop_watch() was called: no watch again
    std::atomic<bool> watching_{false};  // watch_ is set (for polled())
    std::unique_ptr<BackendWatch> watch_;
    std::shared_ptr<BackendClient> watch_backend_;
    int watches_started_ = 0;
    std::atomic<bool> watch_failed_{false};  // also set by the watch's own events
    void store(std::shared_ptr<const RoleSnapshot> next);
    void publish_locked(std::vector<sdk::Instance> instances, const std::string& backend, std::int64_t now_ms);
    void publish_items_locked(std::vector<InstanceList::Item> items, const std::string& backend, std::int64_t now_ms);
    // Stores the snapshot and queues its differences for every subscriber
    // (deliver() calls them, after the lock is released).
    void store_and_tell(std::shared_ptr<RoleSnapshot> next);
    void verify_held_locked(const std::set<std::string>& live);
    // One watch event after the watch is synced, applied to the published
    // snapshot without listing the role again: `now` is the instance as
    // the store has it (nullptr: removed; `explained`: by a stop). Costs a
    // pointer copy per instance of the role.
    void publish_change(const std::string& id, InstanceList::Item now, bool explained, const std::string& backend,
                        std::int64_t now_ms);
    std::string role_name() const;

    std::atomic<std::shared_ptr<const RoleSnapshot>> current_;
    std::atomic<std::uint64_t> version_{0};
    std::atomic<int> pins_{0};
    std::atomic<std::int64_t> last_used_{0};
    std::array<std::atomic<std::uint64_t>, 3> events_{};
    MassRemovalGuard guard_;
    mutable std::mutex delivery_mu_;     // orders publishes and queues their events; guards what follows
    std::condition_variable delivered_;  // a callback returned, or a delivery ended
    std::map<std::uint64_t, std::shared_ptr<Subscriber>> subscribers_;
    struct Waiter {
        std::uint64_t after;
        std::function<void()> wake;
    };
    std::map<std::uint64_t, Waiter> waiters_;  // token -> a wake_after() not yet due
    std::thread::id deliverer_;                // the thread delivering now (none: nobody)
    std::uint64_t calling_ = 0;                // the subscriber whose callback runs now (0: none)
    std::uint64_t next_token_ = 1;
    std::uint64_t publishes_ = 0;
    sdk::Snapshot held_;                                 // removals the guard holds back
    std::map<std::string, std::int64_t> ours_;           // ids this process stopped, and when
    std::set<std::string> stopped_;                      // ids the watch reported stopped, not yet published
    bool contradiction_logged_ = false;                  // the guard's warning, once per episode
    std::map<std::string, InstanceList::Item> working_;  // a (re)sync being gathered by apply(): empty when steady
    bool synced_ = false;
};

}  // namespace muster::core
