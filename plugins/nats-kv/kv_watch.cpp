#include "kv_watch.hpp"

#include "document.hpp"

#include <muster/cpp/clock.hpp>

#include <algorithm>
#include <map>

namespace nats_kv {

KvWatch::KvWatch(const Connection& conn, std::optional<std::string> role, std::chrono::milliseconds sweep,
                 muster::sdk::WatchSink sink)
        : conn_(conn),
          filter_(role ? *role + ".*" : ">"),
          sweep_(sweep),
          sink_(sink),
          known_(conn.ttl_ms()),
          thread_([this] { run(); }) {}

KvWatch::~KvWatch() {
    stop_ = true;
    {
        std::lock_guard lk(watcher_mu_);
        if (watcher_) kvWatcher_Stop(watcher_);
    }
    thread_.join();
}

void KvWatch::emit(muster_event_type type, const muster::sdk::Instance* inst, muster_status status,
                   const char* message) {
    sink_(type, inst, status, message);
}

std::int64_t KvWatch::server_now_ms() const { return muster::sdk::system_ms() + server_ahead_ms_.value_or(0); }

std::chrono::milliseconds KvWatch::until_due() const {
    if (known_.next_due() == 0) return sweep_;
    return std::chrono::milliseconds(std::clamp<std::int64_t>(known_.next_due() - server_now_ms(), 1, sweep_.count()));
}

void KvWatch::apply(const Entry& e) {
    // Its put time, on the server's clock, had passed when it arrived.
    std::int64_t put = e.deleted ? e.instance.stopped_at_ms : e.instance.last_seen_ms;
    std::int64_t ahead = put - muster::sdk::system_ms();
    if (!server_ahead_ms_ || ahead > *server_ahead_ms_) server_ahead_ms_ = ahead;
    if (e.revision <= floor_) return;  // the last resync read it, or what superseded it
    const auto* k = known_.find(e.instance.id);
    if (k && e.revision <= k->revision) return;
    if (e.deleted) {
        // A delete is a graceful stop (an expiry leaves no marker); one of
        // a key the instance has left (moved to another role) is not.
        if (k && *k->role == e.instance.role)
            if (auto stopped = known_.forget(e.instance.id, std::max<std::int64_t>(1, e.instance.stopped_at_ms)))
                emit(MUSTER_EVENT_REMOVED, &*stopped);
        return;
    }
    // A heartbeat moves its due time; a change is told.
    if (auto type = known_.see(e.instance, e.revision)) emit(*type, &e.instance);
}

bool KvWatch::expire_due() {
    for (const auto& id : known_.due(server_now_ms())) {
        const auto* k = known_.find(id);
        if (!k) continue;
        std::string key = key_of(*k->role, id);
        kvEntry* e = nullptr;
        natsStatus s = kvStore_Get(&e, conn_.kv(), key.c_str());
        if (s == NATS_OK && e) {
            auto entry = entry_of(e);
            kvEntry_Destroy(e);
            if (entry && entry->revision > k->revision) {  // a put this watcher has not seen yet
                apply(*entry);
                continue;
            }
        } else if (s != NATS_NOT_FOUND) {
            fail(std::string("NATS watch: ") + natsStatus_GetText(s));
            return false;
        }
        // Gone, or past its max age by the server's clock and only not
        // purged yet: expired.
        if (auto expired = known_.forget(id)) emit(MUSTER_EVENT_REMOVED, &*expired);
    }
    return true;
}

void KvWatch::resync(const std::vector<Entry>& fresh) {
    std::map<std::string_view, muster::sdk::KnownInstances::Seen> live;
    std::map<std::string_view, const Entry*> deleted;
    std::uint64_t floor = 0;
    for (const auto& e : fresh) {
        if (e.deleted)
            deleted[e.instance.id] = &e;
        else
            live[e.instance.id] = {&e.instance, e.revision};
        floor = std::max(floor, e.revision);
    }
    known_.replace(
        live,
        [&](const std::string& id, const std::string& role) {
            auto d = deleted.find(id);
            bool stopped = d != deleted.end() && d->second->instance.role == role;
            return muster::sdk::removed_only(
                id, role, stopped ? std::max<std::int64_t>(1, d->second->instance.stopped_at_ms) : 0);
        },
        [&](muster_event_type t, const muster::sdk::Instance& i) { emit(t, &i); });
    // A fresh read sets the floor, lower too: a bucket made again starts
    // its revisions over.
    floor_ = floor;
    if (!synced_ || failing_) emit(MUSTER_EVENT_SYNCED, nullptr);
    synced_ = true;
    failing_ = false;
}

void KvWatch::fail(const std::string& why) {
    if (!failing_) emit(MUSTER_EVENT_ERROR, nullptr, MUSTER_UNAVAILABLE, why.c_str());
    failing_ = true;
}

void KvWatch::run() {
    while (!stop_) {
        // Open the live watcher; its initial values are read as a resync.
        kvWatchOptions wo = conn_.watch_options(true);
        kvWatcher* w = nullptr;
        natsStatus s = conn_.nc() && natsConnection_Status(conn_.nc()) == NATS_CONN_STATUS_CONNECTED
                           ? (filter_ == ">" ? kvStore_WatchAll(&w, conn_.kv(), &wo)
                                             : kvStore_Watch(&w, conn_.kv(), filter_.c_str(), &wo))
                           : NATS_CONNECTION_DISCONNECTED;
        if (s != NATS_OK) {
            fail(std::string("NATS watch: ") + natsStatus_GetText(s));
            for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        {
            std::lock_guard lk(watcher_mu_);
            watcher_ = w;
        }
        std::vector<Entry> initial;
        bool initial_done = false;
        auto next_sweep = std::chrono::steady_clock::now() + sweep_;
        while (!stop_) {
            auto wait = initial_done ? std::min(until_due(), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                 next_sweep - std::chrono::steady_clock::now()))
                                     : std::chrono::milliseconds(conn_.timeout_ms());
            kvEntry* e = nullptr;
            s = kvWatcher_Next(&e, w, std::max<std::int64_t>(1, wait.count()));
            if (stop_) {
                if (e) kvEntry_Destroy(e);
                break;
            }
            if (s == NATS_OK && e == nullptr) {  // end of the initial values
                resync(initial);
                std::vector<Entry>().swap(initial);  // its storage too: a role of 100,000 held it for the watch's life
                initial_done = true;
                continue;
            }
            if (s == NATS_OK) {
                auto entry = entry_of(e);
                kvEntry_Destroy(e);
                if (!entry) continue;
                if (initial_done)
                    apply(*entry);
                else
                    initial.push_back(std::move(*entry));
                continue;
            }
            if (s == NATS_TIMEOUT && initial_done && std::chrono::steady_clock::now() < next_sweep) {
                if (expire_due()) continue;
                break;  // the server did not answer: reopen the watcher
            }
            if (s == NATS_TIMEOUT && initial_done) {
                // The sweep, a safety net: a fresh read, by diff.
                try {
                    resync(conn_.snapshot(filter_, true));  // the deletes too: they move the floor
                    next_sweep = std::chrono::steady_clock::now() + sweep_;
                    continue;
                } catch (const std::exception& ex) {
                    fail(ex.what());
                }
            } else {
                fail(std::string("NATS watch: ") + natsStatus_GetText(s));
            }
            break;  // reopen the watcher: it may not survive a reconnect
        }
        {
            std::lock_guard lk(watcher_mu_);
            watcher_ = nullptr;
        }
        kvWatcher_Destroy(w);
        if (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace nats_kv
