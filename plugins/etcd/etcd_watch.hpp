// One watch over the instances' keys, on a thread of its own:
//
// - It starts with a range read at one revision R (every page at R) and
//   follows etcd's watch stream from R + 1; a stream that drops is opened
//   again from the last revision seen, so nothing is read twice and
//   nothing is missed. etcd's progress notifications (an empty message
//   saying "nothing before revision N") move that revision on while idle.
// - A compacted revision (etcd answers the watch "canceled" with
//   compact_revision), a store whose history went back (a wiped data
//   directory: a new cluster id, or a revision below ours), or a broken
//   stream means one re-list, told as a diff.
// - Liveness is muster's, not the lease's: each document carries its
//   writer's last_seen, and an instance not written for longer than the ttl
//   is asked for once; if no newer put exists it is REMOVED (an expiry). A
//   lease's expiry deletes its keys: REMOVED too. A graceful stop writes
//   the document with stopped_at first, then deletes it: REMOVED with
//   stopped_at.
// - A store that stops answering: the stream says nothing, so while it is
//   quiet the watch asks the member it streams from for its revision each
//   second (unless another call got an answer from that member within the
//   second); no answer within the request timeout is ERROR, and the stream
//   is opened again, on the next endpoint (SYNCED when it is).
// - The stream is cut into messages on JSON boundaries (json_stream.hpp).
#pragma once

#include "gateway.hpp"
#include "json_stream.hpp"
#include "keys.hpp"
#include "kv.hpp"

#include <muster/backend.h>
#include <muster/cpp/events.hpp>
#include <muster/cpp/known_instances.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

namespace etcd {

class EtcdWatch : public muster::sdk::Watch {
public:
    EtcdWatch(Gateway& gw, const Keys& keys, std::optional<std::string> role, std::int64_t ttl_ms,
              std::chrono::milliseconds sweep, muster::sdk::WatchSink sink);
    // Stops the thread: nothing is delivered after (the SDK sends TERMINATED).
    ~EtcdWatch() override;
    EtcdWatch(const EtcdWatch&) = delete;
    EtcdWatch& operator=(const EtcdWatch&) = delete;

private:
    void run();
    // A fresh read at one revision, told as a diff. False (after ERROR)
    // when the store did not answer.
    bool resync();
    // Follows one watch stream until it ends, breaks, must give way to a
    // re-list, or the watch stops. False when etcd did not answer.
    bool follow();
    void on_message(std::string_view text);
    // One event of the stream.
    void apply(const nlohmann::json& event);
    // A key's new value, from the stream or read by expire_due.
    void put(const KeyValue& kv);
    // Asks etcd for each instance past its ttl: REMOVED unless a put the
    // stream has not brought yet renews it. False (after ERROR) when etcd
    // did not answer.
    bool expire_due();
    // Waits up to `ms`, or until the destructor wakes the thread.
    void pause(long ms);
    void fail(const std::string& why);
    void emit(muster_event_type type, const muster::sdk::Instance* inst);

    Gateway& gw_;
    Kv kv_;
    const Keys& keys_;
    std::string from_, end_;  // the range watched
    std::string_view bytes_;  // what may follow from_ in a key (Kv::scan)
    std::int64_t ttl_ms_;
    std::chrono::milliseconds sweep_;
    muster::sdk::WatchSink sink_;
    muster::sdk::KnownInstances known_;
    JsonStream stream_;
    std::uint64_t revision_ = 0;  // every change up to it has been applied
    std::string cluster_;         // the cluster id the revisions belong to
    bool synced_ = false, failing_ = false;
    bool relist_ = false;                          // the stream asked for a re-list (compacted, history gone)
    bool stream_ended_ = false;                    // the stream said it is over (canceled, an error)
    std::chrono::steady_clock::time_point heard_;  // when the stream last said something
    std::atomic<bool> stop_{false};
    CURLM* multi_;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace etcd
