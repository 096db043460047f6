// C++ helpers for the muster ABI: a ready-made implementation of watch()
// and unwatch() for stores that can tell "something changed" but not what.
//
// The plugin gives the hub a lister (the live instances of a role) and
// pokes it whenever the store may have changed; its Backend::watch returns
// add(role, sink). One hub thread re-lists the watched roles, diffs against
// what each watch was last told and delivers the events, so the contract of
// backend.h holds by construction: initial ADDED then SYNCED, never
// concurrent per watch, ERROR while the store fails and a resync by diff
// afterwards, nothing after the watch is destroyed (the SDK then sends
// TERMINATED). Expiry is caught by waking when the earliest known
// instance's last_seen + ttl passes, and by a periodic sweep.
//
// Lifetime: the hub's thread calls the lister, so hold the hub in a
// unique_ptr declared after every member the lister uses, create it last,
// and reset it first, after stopping every thread of yours that pokes it.
#pragma once

#include <muster/backend.h>
#include <muster/cpp/backend.hpp>
#include <muster/cpp/diff.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/events.hpp>

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
#include <string>
#include <thread>
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
    using Clock = std::function<std::int64_t()>;

    // `sweep`: the longest the hub sleeps without a poke. `now_ms`/`ttl_ms`:
    // the clock the instances' last_seen is on, and the liveness window; with
    // ttl_ms <= 0 the hub relies on the sweep alone.
    WatchHub(Lister lister, std::chrono::milliseconds sweep, Clock now_ms, std::int64_t ttl_ms)
            : lister_(std::move(lister)), sweep_(sweep), now_ms_(std::move(now_ms)), ttl_ms_(ttl_ms), thread_([this] {
                  run();
              }) {}

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
            entries_.push_back(std::move(e));
            dirty_ = true;
        }
        cv_.notify_all();
        return std::make_unique<HubWatch>(*this, raw);
    }

    // The store may have changed: re-list soon.
    void poke() {
        {
            std::lock_guard lk(mu_);
            dirty_ = true;
        }
        cv_.notify_all();
    }

private:
    // What the hub knows of one watch.
    struct Entry {
        explicit Entry(WatchSink s) : sink(s) {}
        std::optional<std::string> role;
        WatchSink sink;
        Snapshot known;
        bool synced = false;
        bool failing = false;
        bool removed = false;
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
        std::erase_if(entries_, [&](const std::unique_ptr<Entry>& x) { return x.get() == e; });
    }

    void run() {
        std::unique_lock lk(mu_);
        while (!stop_) {
            auto deadline = std::chrono::steady_clock::now() + sweep_;
            if (next_expiry_ms_ > 0 && now_ms_) {
                auto wait = std::chrono::milliseconds(std::max<std::int64_t>(0, next_expiry_ms_ - now_ms_()));
                deadline = std::min(deadline, std::chrono::steady_clock::now() + wait);
            }
            cv_.wait_until(lk, deadline, [this] { return dirty_ || stop_; });
            if (stop_) break;
            dirty_ = false;
            lk.unlock();
            pass();
            lk.lock();
        }
    }

    // One round: list each watched role once, diff, deliver.
    void pass() {
        std::lock_guard delivery(delivery_mu_);
        std::vector<Entry*> current;
        {
            std::lock_guard lk(mu_);
            for (auto& w : entries_)
                if (!w->removed) current.push_back(w.get());
        }
        std::map<std::optional<std::string>, std::optional<Snapshot>> fetched;
        std::map<std::optional<std::string>, std::string> failures;
        Snapshot stopped;  // of every role listed this round
        std::int64_t earliest = 0;
        for (Entry* w : current) {
            if (!fetched.count(w->role)) {
                try {
                    Snapshot live;
                    for (auto& i : lister_(w->role ? RoleFilter(*w->role) : std::nullopt))
                        (i.stopped_at_ms != 0 ? stopped[i.id] : live[i.id]) = std::move(i);
                    fetched[w->role] = std::move(live);
                } catch (const std::exception& e) {
                    fetched[w->role] = std::nullopt;
                    failures[w->role] = e.what();
                }
            }
            const auto& snap = fetched[w->role];
            if (!snap) {
                if (!w->failing) w->sink(MUSTER_EVENT_ERROR, nullptr, MUSTER_UNAVAILABLE, failures[w->role].c_str());
                w->failing = true;
                continue;
            }
            diff(w->known, *snap, [&](muster_event_type t, const Instance& i) {
                auto it = t == MUSTER_EVENT_REMOVED ? stopped.find(i.id) : stopped.end();
                w->sink(t, it != stopped.end() ? &it->second : &i);
            });
            w->known = *snap;
            if (!w->synced || w->failing) w->sink(MUSTER_EVENT_SYNCED);
            w->synced = true;
            w->failing = false;
            for (const auto& [id, i] : *snap) {
                std::int64_t expiry = i.last_seen_ms + ttl_ms_ + 1;
                if (ttl_ms_ > 0 && (earliest == 0 || expiry < earliest)) earliest = expiry;
            }
        }
        std::lock_guard lk(mu_);
        next_expiry_ms_ = earliest;
    }

    Lister lister_;
    std::chrono::milliseconds sweep_;
    Clock now_ms_;
    std::int64_t ttl_ms_;
    std::mutex mu_;           // guards entries_, dirty_, stop_, next_expiry_ms_, removed flags
    std::mutex delivery_mu_;  // held while events are delivered
    std::condition_variable cv_;
    std::list<std::unique_ptr<Entry>> entries_;
    bool dirty_ = false;
    bool stop_ = false;
    std::int64_t next_expiry_ms_ = 0;
    std::thread thread_;  // last: starts after every other member exists
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
