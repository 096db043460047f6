#include "kv_watch.hpp"

#include "document.hpp"

#include <muster/cpp/clock.hpp>

#include <algorithm>

namespace nats_kv {

KvWatch::KvWatch(const Connection& conn, std::optional<std::string> role, std::chrono::milliseconds sweep,
                 muster::sdk::WatchSink sink)
        : conn_(conn), filter_(role ? *role + ".*" : ">"), sweep_(sweep), sink_(sink), thread_([this] { run(); }) {}

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

void KvWatch::remember(const Entry& e) {
    auto role = roles_.find(e.instance.role);
    if (role == roles_.end()) role = roles_.insert(e.instance.role).first;
    Known k{e.instance.content_digest(), e.instance.last_seen_ms, e.revision, &*role};
    auto it = known_.insert_or_assign(e.instance.id, k).first;
    track(it->first, it->second);
}

void KvWatch::track(const std::string& id, const Known& k) { due_.emplace(k.last_seen_ms + conn_.ttl_ms(), &id); }

void KvWatch::untrack(const std::string& id, const Known& k) { due_.erase({k.last_seen_ms + conn_.ttl_ms(), &id}); }

std::int64_t KvWatch::server_now_ms() const { return muster::sdk::system_ms() + server_ahead_ms_.value_or(0); }

std::chrono::milliseconds KvWatch::until_due() const {
    if (due_.empty()) return sweep_;
    return std::chrono::milliseconds(
        std::clamp<std::int64_t>(due_.begin()->first - server_now_ms(), 1, sweep_.count()));
}

void KvWatch::apply(const Entry& e) {
    // Its put time, on the server's clock, had passed when it arrived.
    std::int64_t put = e.deleted ? e.instance.stopped_at_ms : e.instance.last_seen_ms;
    std::int64_t ahead = put - muster::sdk::system_ms();
    if (!server_ahead_ms_ || ahead > *server_ahead_ms_) server_ahead_ms_ = ahead;
    if (e.revision <= floor_) return;  // the last resync read it, or what superseded it
    auto it = known_.find(e.instance.id);
    if (it != known_.end() && e.revision <= it->second.revision) return;
    if (e.deleted) {
        // A delete is a graceful stop (an expiry leaves no marker); one of
        // a key the instance has left (moved to another role) is not.
        if (it != known_.end() && *it->second.role == e.instance.role) {
            auto stopped = muster::sdk::removed_only(it->first, e.instance.role,
                                                     std::max<std::int64_t>(1, e.instance.stopped_at_ms));
            untrack(it->first, it->second);
            known_.erase(it);
            emit(MUSTER_EVENT_REMOVED, &stopped);
        }
        return;
    }
    bool known = it != known_.end();
    bool changed = known && it->second.content != e.instance.content_digest();
    if (known) untrack(it->first, it->second);
    remember(e);  // a heartbeat moves its due time
    if (!known)
        emit(MUSTER_EVENT_ADDED, &e.instance);
    else if (changed)
        emit(MUSTER_EVENT_CHANGED, &e.instance);
}

bool KvWatch::expire_due() {
    std::vector<std::string> ids;
    for (auto it = due_.begin(); it != due_.end() && it->first <= server_now_ms(); ++it) ids.push_back(*it->second);
    for (const auto& id : ids) {
        auto k = known_.find(id);
        if (k == known_.end()) continue;
        std::string key = key_of(*k->second.role, id);
        kvEntry* e = nullptr;
        natsStatus s = kvStore_Get(&e, conn_.kv(), key.c_str());
        std::optional<Entry> entry;
        if (s == NATS_OK && e) {
            entry = entry_of(e);
            kvEntry_Destroy(e);
            if (entry && entry->revision > k->second.revision) {  // a put this watcher has not seen yet
                apply(*entry);
                continue;
            }
        } else if (s != NATS_NOT_FOUND) {
            fail(std::string("NATS watch: ") + natsStatus_GetText(s));
            return false;
        }
        // Gone, or past its max age by the server's clock and only not
        // purged yet: expired.
        auto expired = entry && !entry->deleted ? entry->instance : muster::sdk::removed_only(id, *k->second.role, 0);
        untrack(k->first, k->second);
        known_.erase(k);
        emit(MUSTER_EVENT_REMOVED, &expired);
    }
    return true;
}

void KvWatch::resync(const std::vector<Entry>& fresh) {
    std::map<std::string_view, const Entry*> live, deleted;
    std::uint64_t floor = 0;
    for (const auto& e : fresh) {
        (e.deleted ? deleted : live)[e.instance.id] = &e;
        floor = std::max(floor, e.revision);
    }
    // The differences, as sdk::diff orders them: removals first.
    for (const auto& [id, k] : known_)
        if (!live.count(id)) {
            auto d = deleted.find(id);
            bool stopped = d != deleted.end() && d->second->instance.role == *k.role;
            auto removed = muster::sdk::removed_only(
                id, *k.role, stopped ? std::max<std::int64_t>(1, d->second->instance.stopped_at_ms) : 0);
            emit(MUSTER_EVENT_REMOVED, &removed);
        }
    for (const auto& [id, e] : live) {
        auto k = known_.find(std::string(id));
        if (k == known_.end())
            emit(MUSTER_EVENT_ADDED, &e->instance);
        else if (k->second.content != e->instance.content_digest())
            emit(MUSTER_EVENT_CHANGED, &e->instance);
    }
    known_.clear();
    due_.clear();
    roles_.clear();
    for (const auto& [id, e] : live) remember(*e);
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
