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

void KvWatch::track(const std::string& id, const muster::sdk::Instance& i) {
    due_.emplace(i.last_seen_ms + conn_.ttl_ms(), &id);
}

void KvWatch::untrack(const std::string& id, const muster::sdk::Instance& i) {
    due_.erase({i.last_seen_ms + conn_.ttl_ms(), &id});
}

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
    auto& rev = revision_[e.key];
    if (e.revision <= rev) return;
    rev = e.revision;
    auto it = known_.find(e.instance.id);
    if (e.deleted) {
        if (it != known_.end()) {
            // A delete is a graceful stop (an expiry leaves no marker).
            muster::sdk::Instance gone = it->second;
            gone.stopped_at_ms = std::max<std::int64_t>(1, e.instance.stopped_at_ms);
            untrack(it->first, it->second);
            known_.erase(it);
            emit(MUSTER_EVENT_REMOVED, &gone);
        }
        return;
    }
    if (it == known_.end()) {
        it = known_.emplace(e.instance.id, e.instance).first;
        track(it->first, it->second);
        emit(MUSTER_EVENT_ADDED, &e.instance);
    } else {
        bool changed = !it->second.same_content(e.instance);
        untrack(it->first, it->second);
        it->second = e.instance;  // a heartbeat moves its due time
        track(it->first, it->second);
        if (changed) emit(MUSTER_EVENT_CHANGED, &e.instance);
    }
}

bool KvWatch::expire_due() {
    std::vector<std::string> ids;
    for (auto it = due_.begin(); it != due_.end() && it->first <= server_now_ms(); ++it) ids.push_back(*it->second);
    for (const auto& id : ids) {
        auto k = known_.find(id);
        if (k == known_.end()) continue;
        std::string key = key_of(k->second.role, id);
        kvEntry* e = nullptr;
        natsStatus s = kvStore_Get(&e, conn_.kv(), key.c_str());
        if (s == NATS_OK && e) {
            auto entry = entry_of(e);
            kvEntry_Destroy(e);
            if (entry && entry->revision > revision_[key]) {  // a put this watcher has not seen yet
                apply(*entry);
                continue;
            }
        } else if (s != NATS_NOT_FOUND) {
            fail(std::string("NATS watch: ") + natsStatus_GetText(s));
            return false;
        }
        // Gone, or past its max age by the server's clock and only not
        // purged yet: expired.
        muster::sdk::Instance gone = k->second;
        untrack(k->first, k->second);
        known_.erase(k);
        emit(MUSTER_EVENT_REMOVED, &gone);
    }
    return true;
}

void KvWatch::resync(const std::vector<Entry>& fresh) {
    muster::sdk::Snapshot next;
    for (const auto& e : fresh) {
        if (e.deleted) continue;
        next[e.instance.id] = e.instance;
        auto& rev = revision_[e.key];
        rev = std::max(rev, e.revision);
    }
    muster::sdk::diff(known_, next, [&](muster_event_type t, const muster::sdk::Instance& i) { emit(t, &i); });
    known_ = std::move(next);
    due_.clear();
    for (const auto& [id, i] : known_) track(id, i);
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
        kvWatchOptions wo;
        kvWatchOptions_Init(&wo);
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
                initial.clear();
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
                    resync(conn_.snapshot(filter_, false));
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
