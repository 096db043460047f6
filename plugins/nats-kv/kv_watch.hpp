// One watch over the bucket: a thread reading a cnats KV watcher (the
// current values, then every change), plus a sweep that re-reads the bucket
// every `sweep` to report keys that expired by max age (NATS 2.9 tells
// watchers nothing then) and to resync after a reconnect, by diff.
#pragma once

#include "connection.hpp"

#include <muster/backend.h>
#include <muster/cpp/diff.hpp>
#include <muster/cpp/events.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace nats_kv {

class KvWatch : public muster::sdk::Watch {
public:
    KvWatch(const Connection& conn, std::optional<std::string> role, std::chrono::milliseconds sweep,
            muster::sdk::WatchSink sink);
    // Stops the thread: nothing is delivered after (the SDK sends TERMINATED).
    ~KvWatch() override;
    KvWatch(const KvWatch&) = delete;
    KvWatch& operator=(const KvWatch&) = delete;

private:
    void run();
    void emit(muster_event_type type, const muster::sdk::Instance* inst, muster_status status = MUSTER_OK,
              const char* message = nullptr);
    // Applies one entry from the live watcher, unless a sweep already saw
    // a newer revision of its key.
    void apply(const Entry& e);
    // Replaces the known set with a fresh read, emitting the differences.
    void resync(const std::vector<Entry>& fresh);
    void fail(const std::string& why);

    const Connection& conn_;
    std::string filter_;
    std::chrono::milliseconds sweep_;
    muster::sdk::WatchSink sink_;
    muster::sdk::Snapshot known_;                    // live instances by id
    std::map<std::string, std::uint64_t> revision_;  // last revision applied, per key
    bool synced_ = false, failing_ = false;
    std::atomic<bool> stop_{false};
    std::mutex watcher_mu_;  // guards watcher_ against Stop from the destructor
    kvWatcher* watcher_ = nullptr;
    std::thread thread_;
};

}  // namespace nats_kv
