// C++ helpers for the muster ABI: a ready-made implementation of watch()
// and unwatch() for stores that can tell "something changed", and, better,
// which instance changed.
//
// The plugin gives the hub a lister (the live instances of a role) and
// pokes it whenever the store may have changed; its Backend::watch returns
// add(role, sink). One hub thread keeps, per watched role, what its
// watchers were last told, and delivers the differences, so the contract of
// backend.h holds by construction: initial ADDED then SYNCED, never
// concurrent per watch, ERROR while the store fails and a resync by diff
// afterwards, nothing after the watch is destroyed (the SDK then sends
// TERMINATED).
//
// Two ways to tell the hub of a change:
// - poke(): anything may have changed. The hub re-lists every watched
//   role: O(role) per change, fine for small stores.
// - poke(role, id): this instance changed. With a Fetcher (the current
//   state of given ids), the hub reads only the instances named: O(change),
//   whatever the size of the role. Stores with a change feed (a table of
//   changes, a log) use it; call poke() when the feed lost track (a cursor
//   pruned away), and the hub re-lists.
// Expiry is caught by waking when the earliest known instance's last_seen
// + ttl passes: with a Fetcher only the instances due are read again (a
// heartbeat moves last_seen without being a change), without one the role
// is re-listed. A role whose store failed is re-listed each second until it
// answers (a store that comes back says nothing by itself). A periodic
// sweep re-lists everything as a safety net.
//
// Lifetime: the hub's thread calls the lister and fetcher, so hold the hub
// in a unique_ptr declared after every member they use, create it last,
// and reset it first, after stopping every thread of yours that pokes it.
#pragma once

#include <muster/backend.h>
#include <muster/cpp/backend.hpp>
#include <muster/cpp/diff.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/events.hpp>
#include <muster/cpp/known_instances.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace muster::sdk {

class WatchHub {
public:
    // Returns the live instances of `role` (nullopt: every role), and may
    // add recently stopped ones (stopped_at_ms set): a watched instance the
    // lister then returns stopped is reported REMOVED with its stopped_at,
    // so a watcher can tell a graceful stop from an expiry. Throws
    // muster::sdk::Error when the store fails.
    using Lister = std::function<std::vector<Instance>(RoleFilter role)>;
    // Returns what the store keeps of each of `ids` now, stopped and stale
    // ones included (the hub decides what is live); an id the store no
    // longer has is left out. Throws muster::sdk::Error when the store
    // fails (the hub then reports ERROR and re-lists once it answers).
    using Fetcher = std::function<std::vector<Instance>(std::span<const std::string> ids)>;
    using Clock = std::function<std::int64_t()>;

    // `sweep`: the longest the hub goes without re-listing. `now_ms`/`ttl_ms`:
    // the clock the instances' last_seen is on, and the liveness window; with
    // ttl_ms <= 0 nothing expires by time. Without a fetcher, poke(role, id)
    // re-lists like poke().
    WatchHub(Lister lister, std::chrono::milliseconds sweep, Clock now_ms, std::int64_t ttl_ms)
            : WatchHub(std::move(lister), nullptr, sweep, std::move(now_ms), ttl_ms) {}
    WatchHub(Lister lister, Fetcher fetcher, std::chrono::milliseconds sweep, Clock now_ms, std::int64_t ttl_ms)
            : lister_(std::move(lister)),
              fetcher_(std::move(fetcher)),
              sweep_(sweep),
              now_ms_(std::move(now_ms)),
              ttl_ms_(now_ms_ ? ttl_ms : 0),
              thread_([this] { run(); }) {}

    WatchHub(const WatchHub&) = delete;
    WatchHub& operator=(const WatchHub&) = delete;

    // Stops the thread. The host ends every watch before it destroys the
    // backend (backend.h), so no watch of this hub outlives it.
    ~WatchHub() {
        {
            std::lock_guard lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

    // Starts a watch of `role` delivering to `sink`; its initial ADDED and
    // SYNCED events come from the hub thread shortly after. Destroying the
    // returned watch ends it (waiting for a delivery in progress).
    std::unique_ptr<Watch> add(RoleFilter role, WatchSink sink) {
        auto e = std::make_unique<Entry>(sink);
        if (role) e->role = std::string(*role);
        Entry* raw = e.get();
        {
            std::lock_guard lk(mu_);
            ++watched_[raw->role];
            entries_.push_back(std::move(e));
            work_ = true;
        }
        cv_.notify_all();
        return std::make_unique<HubWatch>(*this, raw);
    }

    // The store may have changed anywhere: re-list every watched role soon.
    void poke() {
        {
            std::lock_guard lk(mu_);
            relist_ = true;
            pending_.clear();
        }
        cv_.notify_all();
    }

    // Instance `id` of `role` changed: added, changed, stopped, deleted,
    // back from stale. Costs nothing when nobody watches `role`. A store
    // that moves an id between roles pokes both.
    void poke(std::string_view role, std::string_view id) {
        {
            std::lock_guard lk(mu_);
            if (!watched_.count(std::nullopt) && !watched_.count(std::string(role))) return;
            if (!fetcher_ || relist_) {
                relist_ = true;
            } else if (pending_.size() >= kMaxPending) {  // a burst: one re-list is cheaper, and bounded
                relist_ = true;
                pending_.clear();
            } else {
                pending_.emplace(id);
            }
        }
        cv_.notify_all();
    }

private:
    static constexpr std::size_t kMaxPending = 10000;
    static constexpr std::chrono::seconds kRetry{1};

    // What the hub knows of one watch.
    struct Entry {
        explicit Entry(WatchSink s) : sink(s) {}
        std::optional<std::string> role;
        WatchSink sink;
        bool synced = false;
        bool failing = false;
        bool removed = false;
    };

    // What the watchers of one role were last told, shared by all of them.
    struct RoleState {
        explicit RoleState(std::int64_t ttl_ms) : known(ttl_ms) {}
        KnownInstances known;
        bool listed = false;   // `known` came from a list that succeeded
        bool failing = false;  // the last read failed: re-list before trusting `known`
    };

    class HubWatch : public Watch {
    public:
        HubWatch(WatchHub& hub, Entry* entry) : hub_(hub), entry_(entry) {}
        ~HubWatch() override { hub_.remove(entry_); }

    private:
        WatchHub& hub_;
        Entry* entry_;
    };

    // Waits for a delivery in progress, then forgets the watch.
    void remove(Entry* e) {
        {
            std::lock_guard lk(mu_);
            e->removed = true;
        }
        std::lock_guard delivery(delivery_mu_);
        std::lock_guard lk(mu_);
        if (--watched_[e->role] == 0) {
            // Changes of a role nobody watches are not kept up (poke drops
            // them): what the hub knew of it is stale from now on.
            watched_.erase(e->role);
            states_.erase(e->role);
        }
        std::erase_if(entries_, [&](const std::unique_ptr<Entry>& x) { return x.get() == e; });
    }

    void run() {
        std::unique_lock lk(mu_);
        auto next_sweep = std::chrono::steady_clock::now() + sweep_;
        while (!stop_) {
            auto deadline = next_sweep;
            // A role whose store failed is listed again each second until
            // it answers: a store that comes back says nothing by itself.
            if (failing_) deadline = std::min(deadline, std::chrono::steady_clock::now() + kRetry);
            if (next_expiry_ms_ > 0) {
                auto wait = std::chrono::milliseconds(std::max<std::int64_t>(0, next_expiry_ms_ - now_ms_()));
                deadline = std::min(deadline, std::chrono::steady_clock::now() + wait);
            }
            cv_.wait_until(lk, deadline, [this] { return work_ || relist_ || !pending_.empty() || stop_; });
            if (stop_) break;
            if (std::chrono::steady_clock::now() >= next_sweep) {
                relist_ = true;
                next_sweep = std::chrono::steady_clock::now() + sweep_;
            }
            Work w{relist_, std::move(pending_)};
            relist_ = work_ = false;
            pending_.clear();
            lk.unlock();
            pass(w);
            lk.lock();
        }
    }

    struct Work {
        bool relist = false;
        std::set<std::string> changed;
    };

    // One round: bring each watched role's state up to date (a list, or a
    // fetch of the ids changed or due), deliver the differences, then the
    // initial state to new watches.
    void pass(const Work& w) {
        std::lock_guard delivery(delivery_mu_);
        std::map<std::optional<std::string>, std::vector<Entry*>> by_role;
        {
            std::lock_guard lk(mu_);
            for (auto& e : entries_)
                if (!e->removed) by_role[e->role].push_back(e.get());
        }
        const std::int64_t now = now_ms_ ? now_ms_() : 0;

        // The ids to read: those poked, and those due to expire.
        std::set<std::string> to_fetch;
        if (fetcher_) {
            to_fetch = w.changed;
            for (auto& [role, s] : states_)
                for (auto& id : s.known.due(now)) to_fetch.insert(std::move(id));
        }
        std::optional<std::map<std::string, Instance>> fetched;
        std::string fetch_failure;
        if (!to_fetch.empty()) {
            try {
                std::vector<std::string> ids(to_fetch.begin(), to_fetch.end());
                fetched.emplace();
                for (auto& i : fetcher_(ids)) (*fetched)[i.id] = std::move(i);
            } catch (const std::exception& e) {
                fetched.reset();
                fetch_failure = e.what();
            }
        }

        for (auto& [role, entries] : by_role) {
            RoleState& s = states_.try_emplace(role, ttl_ms_).first->second;
            bool due_now = s.known.next_due() != 0 && s.known.next_due() <= now;
            // A new watch starts from a list: the hub keeps no instances to
            // show it.
            bool joining = std::any_of(entries.begin(), entries.end(), [](const Entry* e) { return !e->synced; });
            bool list = w.relist || !s.listed || s.failing || joining || (!fetcher_ && due_now);
            if (list) {
                relist(role, s, entries);
            } else if (!to_fetch.empty() && !fetched) {
                fail(s, entries, fetch_failure);
            } else if (fetched) {
                for (const auto& id : to_fetch) {
                    auto f = fetched->find(id);
                    apply(role, s, entries, id, f == fetched->end() ? nullptr : &f->second, now);
                }
            }
        }

        std::int64_t earliest = 0;
        bool failing = false;
        for (auto& [role, s] : states_) {
            std::int64_t due = s.known.next_due();
            if (due != 0 && (earliest == 0 || due < earliest)) earliest = due;
            failing = failing || s.failing;
        }
        std::lock_guard lk(mu_);
        next_expiry_ms_ = earliest;
        failing_ = failing;
    }

    // Lists `role`, delivers the differences from what was known to the
    // synced watches (as sdk::diff orders them) and the whole role to new
    // ones.
    void relist(const std::optional<std::string>& role, RoleState& s, const std::vector<Entry*>& entries) {
        Snapshot live, stopped;
        try {
            for (auto& i : lister_(role ? RoleFilter(*role) : std::nullopt))
                (i.stopped_at_ms != 0 ? stopped[i.id] : live[i.id]) = std::move(i);
        } catch (const std::exception& e) {
            fail(s, entries, e.what());
            return;
        }
        auto tell = [&](muster_event_type t, const Instance& i) {
            for (Entry* e : entries)
                if (e->synced) e->sink(t, &i);
        };
        std::map<std::string_view, KnownInstances::Seen> seen;
        for (const auto& [id, i] : live) seen[id] = {&i, 0};
        s.known.replace(
            seen,
            [&](const std::string& id, const std::string& role) {
                auto it = stopped.find(id);
                return it != stopped.end() ? it->second : removed_only(id, role);
            },
            tell);
        s.listed = true;
        s.failing = false;
        for (Entry* e : entries) {
            if (!e->synced) {
                for (const auto& [id, i] : live) e->sink(MUSTER_EVENT_ADDED, &i);
                e->synced = true;
                e->sink(MUSTER_EVENT_SYNCED);
            } else if (e->failing) {
                e->sink(MUSTER_EVENT_SYNCED);
            }
            e->failing = false;
        }
    }

    // The store failed: each watch hears it once, and the role is re-listed
    // once the store answers again.
    void fail(RoleState& s, const std::vector<Entry*>& entries, const std::string& why) {
        s.failing = true;
        for (Entry* e : entries) {
            if (!e->failing) e->sink(MUSTER_EVENT_ERROR, nullptr, MUSTER_UNAVAILABLE, why.c_str());
            e->failing = true;
        }
    }

    // What the store now keeps of `id` (`now`: nullptr when it is gone),
    // applied to one role's state.
    void apply(const std::optional<std::string>& role, RoleState& s, const std::vector<Entry*>& entries,
               const std::string& id, const Instance* now_kept, std::int64_t now) {
        bool live = now_kept && (!role || now_kept->role == *role) && now_kept->stopped_at_ms == 0 &&
                    (ttl_ms_ <= 0 || now - now_kept->last_seen_ms <= ttl_ms_);
        const auto* k = s.known.find(id);
        auto tell = [&](muster_event_type t, const Instance& i) {
            for (Entry* e : entries)
                if (e->synced) e->sink(t, &i);
        };
        if (!k) {
            if (!live) return;
            s.known.see(*now_kept);
            tell(MUSTER_EVENT_ADDED, *now_kept);
            return;
        }
        if (!live) {
            // As the store keeps it (stopped, or stale) when it still has it
            // in this role.
            bool described = now_kept && now_kept->role == *k->role;
            auto removed = s.known.forget(id);
            tell(MUSTER_EVENT_REMOVED, described ? *now_kept : *removed);
            return;
        }
        if (auto type = s.known.see(*now_kept)) tell(*type, *now_kept);
    }

    Lister lister_;
    Fetcher fetcher_;
    std::chrono::milliseconds sweep_;
    Clock now_ms_;
    std::int64_t ttl_ms_;
    std::mutex mu_;  // guards entries_, watched_, work_, relist_, pending_, stop_, next_expiry_ms_, failing_, removed
    std::mutex delivery_mu_;  // held while events are delivered; guards states_
    std::condition_variable cv_;
    std::list<std::unique_ptr<Entry>> entries_;
    std::map<std::optional<std::string>, int> watched_;  // watches per role
    std::map<std::optional<std::string>, RoleState> states_;
    bool work_ = false;    // a watch was added
    bool relist_ = false;  // poke(): re-list every role
    std::set<std::string> pending_;
    bool stop_ = false;
    std::int64_t next_expiry_ms_ = 0;
    bool failing_ = false;  // some role's last read failed
    std::thread thread_;    // last: starts after every other member exists
};

// For a hub's lister: of the instances a store keeps, what a watch is
// shown: the live ones, and those stopped within the last ttl (reported as
// stops, not expiries). Stale ones and older stops are dropped. `now_ms`
// is on the clock of the instances' times.
inline std::vector<Instance> watch_view(std::vector<Instance> kept, std::int64_t now_ms, std::int64_t ttl_ms) {
    std::erase_if(kept, [&](const Instance& i) {
        return i.stopped_at_ms != 0 ? i.stopped_at_ms < now_ms - ttl_ms : now_ms - i.last_seen_ms > ttl_ms;
    });
    return kept;
}

}  // namespace muster::sdk
