// One watch over the bucket: a thread reading a cnats KV watcher (the
// current values, then every change, heartbeats included). NATS 2.9 tells
// watchers nothing when a key expires by max age, so the watch keeps each
// key's due time (its last put + the max age, on the server's clock) and,
// when one passes, asks the server for that key alone: a change costs what
// changed, and an idle watch costs nothing, whatever the size of the role.
// A sweep re-reads the bucket every `sweep` as a safety net, and the
// watcher's reopening after a reconnect resyncs by diff.
#pragma once

#include "connection.hpp"

#include <muster/backend.h>
#include <muster/cpp/events.hpp>
#include <muster/cpp/known_instances.hpp>

#include <atomic>
#include <chrono>
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
    // Asks the server for each known key whose due time has passed: one it
    // no longer has (or has unchanged) expired and is REMOVED; a newer put
    // is applied.
    // False (after ERROR) when the server did not answer.
    bool expire_due();
    // How long until the next key is due (the sweep's wait when none is).
    std::chrono::milliseconds until_due() const;
    // The server's clock now, estimated.
    std::int64_t server_now_ms() const;

    const Connection& conn_;
    std::string filter_;
    std::chrono::milliseconds sweep_;
    muster::sdk::WatchSink sink_;
    // What the watcher was told of each live instance, with the revision of
    // its last put and when it is due (last put + max age, on the server's
    // clock).
    muster::sdk::KnownInstances known_;
    // The highest revision the last resync read: entries up to it were in
    // that read (or superseded there), so a late one from the live watcher
    // is older than what the watcher was told.
    std::uint64_t floor_ = 0;
    // The server's clock minus ours, from the live entries: the largest
    // (put time - arrival) seen, a lower bound (latency only hides some of
    // it), so a key is judged expired late rather than early.
    std::optional<std::int64_t> server_ahead_ms_;
    bool synced_ = false, failing_ = false;
    std::atomic<bool> stop_{false};
    std::mutex watcher_mu_;  // guards watcher_ against Stop from the destructor
    kvWatcher* watcher_ = nullptr;
    std::thread thread_;
};

}  // namespace nats_kv
