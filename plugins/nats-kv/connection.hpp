// The NATS connection, JetStream context and KV bucket of one backend:
// options from the plugin's schema, the bucket created or checked against
// the configuration, and cnats statuses mapped to muster statuses.
#pragma once

#include <muster/cpp/error.hpp>
#include <muster/cpp/instance.hpp>
#include <muster/cpp/options.hpp>

#include <nats/nats.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace nats_kv {

// Throws muster::sdk::Error for a failed cnats call.
void check(natsStatus s, const std::string& what);
[[noreturn]] void fail(natsStatus s, const std::string& what);

// A KV entry with its key, decoded, and its server-side revision and time.
struct Entry {
    std::string key;
    muster::sdk::Instance instance;  // last_seen_ms = the entry's server time
    std::uint64_t revision = 0;
    bool deleted = false;  // a delete or purge marker
};

// Converts a cnats entry; nullopt for a value that is not ours.
std::optional<Entry> entry_of(kvEntry* e);

class Connection {
public:
    Connection(const muster::sdk::Options& options, std::int64_t ttl_ms);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    kvStore* kv() const { return kv_; }
    // The id claims: key = instance id, value = the role it is registered
    // under (one id lives under one role, B10), in a bucket of its own
    // ("<bucket>_ids") so that no watch or list of the instances reads
    // them. A claim outlives its instance's keys (ids_ttl_ms) and is
    // renewed by the heartbeats before it ages out.
    kvStore* ids() const { return ids_; }
    std::string ids_bucket() const { return bucket_ + "_ids"; }
    std::int64_t ids_ttl_ms() const { return ttl_ms_ * 10; }
    jsCtx* js() const { return js_; }
    natsConnection* nc() const { return nc_; }
    const std::string& bucket() const { return bucket_; }
    std::int64_t timeout_ms() const { return timeout_ms_; }
    // The bucket's max age: how long a key lives after its last put.
    std::int64_t ttl_ms() const { return ttl_ms_; }

    // UNAVAILABLE at once while the client is not connected.
    void require_connected() const;

    // After a failed call: if the server answers that the bucket does not
    // exist (a store wiped, a server restarted empty), creates it again with
    // the configured settings. True when it did.
    bool recreate_if_missing();

    // After a batch of asynchronous puts did not complete: forgets the puts
    // still waiting for an acknowledgement, which a server that froze or
    // restarted may never send; otherwise every later batch would wait for
    // them and time out for ever.
    void forget_pending_puts();

    // Asynchronous puts report their failures to the context, not to the
    // caller: each is counted here. A caller compares the count before and
    // after its batch (conservatively: a concurrent batch's failure counts
    // for both), and gets the last failure's text.
    std::uint64_t async_failures() const;
    std::string last_async_failure() const;

    // The current entries whose keys match `filter` ("role.*", "*.id", ">"),
    // read through a short-lived ordered consumer: one round trip for all.
    // With deletes, delete markers are included.
    std::vector<Entry> snapshot(const std::string& filter, bool with_deletes) const;
    // The options for a watcher of current values (and deletes if asked).
    kvWatchOptions watch_options(bool with_deletes) const;
    // The same, each entry to `f` as it arrives, until `f` returns false.
    void each(const std::string& filter, bool with_deletes, const std::function<bool(Entry&&)>& f) const;

private:
    void release();
    // Creates bucket `name` with the configured settings; `kv` gets it.
    natsStatus create_bucket(kvStore** kv, const std::string& name, std::int64_t ttl_ms) const;
    // Opens bucket `name`, creating it when the server has none.
    natsStatus open_bucket(kvStore** kv, const std::string& name, std::int64_t ttl_ms) const;
    static void on_async_failure(jsCtx* js, jsPubAckErr* err, void* self);

    mutable std::mutex async_mu_;  // guards the two below
    std::uint64_t async_failures_ = 0;
    std::string last_async_failure_;

    natsOptions* opts_ = nullptr;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    kvStore* kv_ = nullptr;
    kvStore* ids_ = nullptr;
    std::string bucket_;
    int replicas_ = 1;
    std::int64_t history_ = 1;  // values the bucket keeps per key
    std::int64_t ttl_ms_;
    std::int64_t timeout_ms_;
};

}  // namespace nats_kv
