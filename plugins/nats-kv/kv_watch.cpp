#include "kv_watch.hpp"

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

void KvWatch::apply(const Entry& e) {
    auto& rev = revision_[e.key];
    if (e.revision <= rev) return;
    rev = e.revision;
    auto it = known_.find(e.instance.id);
    if (e.deleted) {
        if (it != known_.end()) {
            // A delete is a graceful stop (an expiry leaves no marker).
            muster::sdk::Instance gone = it->second;
            gone.stopped_at_ms = std::max<std::int64_t>(1, e.instance.stopped_at_ms);
            known_.erase(it);
            emit(MUSTER_EVENT_REMOVED, &gone);
        }
        return;
    }
    if (it == known_.end()) {
        known_[e.instance.id] = e.instance;
        emit(MUSTER_EVENT_ADDED, &e.instance);
    } else {
        bool changed = !it->second.same_content(e.instance);
        it->second = e.instance;
        if (changed) emit(MUSTER_EVENT_CHANGED, &e.instance);
    }
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
            auto wait = initial_done ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                           next_sweep - std::chrono::steady_clock::now())
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
            if (s == NATS_TIMEOUT && initial_done) {
                // The sweep: expired keys vanish from a fresh read.
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
