// nats-kv: registrations in a NATS JetStream key-value bucket. Keys are
// "<role>.<id>", values the JSON document of document.hpp; the bucket's max
// age is the liveness window, so the server itself expires instances that
// stop heartbeating, judged on its own clock.
#include "connection.hpp"
#include "document.hpp"
#include "kv_watch.hpp"

#include <muster/cpp/backend.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/option_spec.hpp>

#include <map>
#include <mutex>

namespace nats_kv {
namespace {

using muster::sdk::Error;
using muster::sdk::Instance;

class NatsKv : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "registry in a NATS JetStream key-value bucket";
    // No REAP: the bucket's max age removes stale keys, and graceful stops
    // delete theirs, so nothing is kept to reap (or to list as stale/stopped).
    static constexpr std::uint64_t kCapabilities =
        MUSTER_BACKEND_CAP_WATCH | MUSTER_BACKEND_CAP_SHARED | MUSTER_BACKEND_CAP_SERVER_CLOCK;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("url", "server URL, or several separated by commas")
                .defaults_to("nats://127.0.0.1:4222"),
            muster::sdk::string_option("bucket", "KV bucket; created if missing").defaults_to("muster"),
            muster::sdk::int_option("replicas", "bucket replicas when created (a cluster: 3)").defaults_to("1"),
            muster::sdk::duration_option("ttl", "the bucket's max age, the liveness window (default: the host's ttl)"),
            muster::sdk::string_option("tls_ca", "CA certificate file: enables TLS"),
            muster::sdk::string_option("tls_cert", "client certificate file (with tls_key)"),
            muster::sdk::string_option("tls_key", "client key file (with tls_cert)"),
            muster::sdk::string_option("creds", "JWT + NKey credentials file"),
            muster::sdk::string_option("user", "user name"),
            muster::sdk::string_option("password", "password of user").secret(),
            muster::sdk::string_option("token", "authentication token").secret(),
            muster::sdk::duration_option("connect_timeout", "how long connecting may take").defaults_to("2s"),
            muster::sdk::duration_option("request_timeout", "longest wait for a JetStream answer").defaults_to("2s"),
            muster::sdk::duration_option("reconnect_wait", "pause between reconnect attempts to one server")
                .defaults_to("250ms"),
            muster::sdk::int_option("max_reconnect", "reconnect attempts before giving up; -1 forever")
                .defaults_to("-1"),
            muster::sdk::duration_option("sweep", "how often watches re-read the whole bucket, a safety net")
                .defaults_to("10m"),
        };
        return specs;
    }

    explicit NatsKv(const muster::sdk::BackendContext& ctx)
            : host_(ctx.host), conn_(ctx.options, ctx.ttl_ms), sweep_(ctx.options.get_duration_ms("sweep", 600000)) {}

    void register_instance(const Instance& in) override {
        healing([&] { put_instance(in); });
    }
    void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) override {
        healing([&] { put_heartbeats(ids, results); });
    }
    void deregister(std::string_view id) override {
        healing([&] { delete_instance(id); });
    }
    void list(muster::sdk::RoleFilter role, std::uint32_t, const std::function<bool(const Instance&)>& sink) override {
        // Stopped and stale keys are gone from the bucket: the flags that ask
        // for them find nothing more (the capability bits say so).
        // Each entry goes to the sink as it arrives: the host sees a big
        // answer arriving, not a silent store (docs/chain.md).
        healing([&] {
            conn_.each(role ? std::string(*role) + ".*" : ">", false, [&](Entry&& e) { return sink(e.instance); });
        });
    }

private:
    // A failed call checks that the bucket still exists, and creates it
    // again with the configured settings if the server lost it (a store
    // wiped, a server restarted empty): the call fails as UNAVAILABLE (the
    // chain settles it) and the next one finds the bucket.
    template <class F>
    void healing(F&& f) {
        try {
            f();
        } catch (const Error& e) {
            if (e.status() == MUSTER_INVALID_ARGUMENT || e.status() == MUSTER_CONFLICT) throw;
            if (!conn_.recreate_if_missing()) throw;
            host_.log(MUSTER_LOG_WARN,
                      "nats-kv: bucket '" + conn_.bucket() + "' was missing on the server; created it again");
            throw Error(MUSTER_UNAVAILABLE, std::string(e.what()) + " (the bucket was missing; created again)");
        }
    }

    void put_instance(const Instance& in) {
        conn_.require_connected();  // fail fast: cnats would hold the requests until their timeouts
        std::string key = key_of(in.role, in.id);
        Instance doc = in;
        doc.registered_at_ms = 0;
        {
            // Re-registering what this backend wrote needs no look-up.
            std::lock_guard lk(mu_);
            auto it = owned_.find(in.id);
            if (it != owned_.end() && it->second.key == key)
                if (auto prev = decode(it->second.value.data(), static_cast<int>(it->second.value.size())))
                    doc.registered_at_ms = prev->registered_at_ms;
        }
        if (doc.registered_at_ms == 0) {
            // One id lives under one role; a re-register keeps registered_at.
            auto prev = claim(in.id, in.role);
            doc.registered_at_ms = prev && prev->registered_at_ms ? prev->registered_at_ms : muster::sdk::system_ms();
        }
        std::string value = encode(doc, muster::sdk::system_ms());
        std::uint64_t rev = 0;
        check(kvStore_Put(&rev, conn_.kv(), key.c_str(), value.data(), static_cast<int>(value.size())), "put " + key);
        {
            std::lock_guard lk(mu_);
            auto& owned = owned_[in.id];
            if (owned.key != key) owned.claimed_ms = muster::sdk::system_ms();  // claim() just wrote or found it
            owned.key = key;
            owned.value = value;
        }
        // The seed's subject events, for subscribers of plain NATS.
        natsConnection_Publish(conn_.nc(), ("services." + in.role + ".register").c_str(), value.data(),
                               static_cast<int>(value.size()));
    }

    // The instance document under `role`.`id`, if the bucket has one.
    std::optional<Instance> document_of(const std::string& role, const std::string& id) {
        kvEntry* e = nullptr;
        natsStatus s = kvStore_Get(&e, conn_.kv(), key_of(role, id).c_str());
        if (s == NATS_NOT_FOUND) return std::nullopt;
        check(s, "get " + key_of(role, id));
        auto entry = entry_of(e);
        kvEntry_Destroy(e);
        if (!entry || entry->deleted) return std::nullopt;
        return std::move(entry->instance);
    }

    // Claims `id` for `role` in the claims bucket (B10: CONFLICT when it
    // lives under another role), in a round trip or two whatever the size
    // of the bucket. Returns the instance already under `role`.`id`, if
    // any (its registered_at is kept). A claim whose role no longer has the
    // id is stale and taken over, unless it is younger than a request
    // timeout: its registration may not have written its key yet.
    std::optional<Instance> claim(const std::string& id, const std::string& role) {
        for (int attempt = 0; attempt < 3; ++attempt) {
            std::uint64_t rev = 0;
            natsStatus s = kvStore_CreateString(&rev, conn_.ids(), id.c_str(), role.c_str());
            if (s == NATS_OK) return document_of(role, id);
            kvEntry* e = nullptr;
            natsStatus g = kvStore_Get(&e, conn_.ids(), id.c_str());
            if (g == NATS_NOT_FOUND) continue;  // deleted meanwhile: create again
            if (g != NATS_OK) check(g, "claim " + id);
            std::string owner(static_cast<const char*>(kvEntry_Value(e)),
                              static_cast<std::size_t>(kvEntry_ValueLen(e)));
            std::uint64_t owned_at = kvEntry_Revision(e);
            std::int64_t age_ms = muster::sdk::system_ms() - kvEntry_Created(e) / 1000000;
            kvEntry_Destroy(e);
            if (owner == role) return document_of(role, id);
            if (document_of(owner, id) || age_ms < conn_.timeout_ms())
                throw Error(MUSTER_CONFLICT, "id " + id + " is registered under role '" + owner + "'");
            if (kvStore_UpdateString(&rev, conn_.ids(), id.c_str(), role.c_str(), owned_at) == NATS_OK)
                return document_of(role, id);
        }
        throw Error(MUSTER_UNAVAILABLE, "NATS: could not claim id " + id + " (claimed and released meanwhile)");
    }

    // Puts of the values this backend wrote, pipelined: one round trip's
    // wait for the whole batch. Claims more than half their life old are
    // put again in the same batch (about once per 5 ttl).
    void put_heartbeats(std::span<const std::string_view> ids, std::span<muster_status> results) {
        conn_.require_connected();
        std::vector<std::pair<std::string, std::string>> puts;  // subject, value
        std::vector<std::string> renewed;
        const std::int64_t now = muster::sdk::system_ms();
        {
            std::lock_guard lk(mu_);
            for (std::size_t i = 0; i < ids.size(); ++i) {
                auto it = owned_.find(std::string(ids[i]));
                results[i] = it == owned_.end() ? MUSTER_NOT_FOUND : MUSTER_OK;
                if (it == owned_.end()) continue;
                puts.emplace_back("$KV." + conn_.bucket() + "." + it->second.key, it->second.value);
                if (now - it->second.claimed_ms > conn_.ids_ttl_ms() / 2) {
                    std::string role = it->second.key.substr(0, it->second.key.find('.'));
                    puts.emplace_back("$KV." + conn_.ids_bucket() + "." + it->first, role);
                    renewed.push_back(it->first);
                }
            }
        }
        if (puts.size() == 1) {
            std::uint64_t rev = 0;
            const auto& [subject, value] = puts[0];
            std::string key = subject.substr(conn_.bucket().size() + 5);  // after "$KV.<bucket>."
            check(kvStore_Put(&rev, conn_.kv(), key.c_str(), value.data(), static_cast<int>(value.size())),
                  "heartbeat");
            return;
        }
        std::uint64_t failures_before = conn_.async_failures();
        for (const auto& [subject, value] : puts)
            check(js_PublishAsync(conn_.js(), subject.c_str(), value.data(), static_cast<int>(value.size()), nullptr),
                  "heartbeat");
        if (!puts.empty()) {
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MaxWait = conn_.timeout_ms();
            if (natsStatus st = js_PublishAsyncComplete(conn_.js(), &po); st != NATS_OK) {
                conn_.forget_pending_puts();
                fail(st, "heartbeat batch");
            }
        }
        // A put the server refused (JetStream not ready after a restart,
        // no responders) is not an error of Complete: without this the
        // heartbeat would pass while the key ages out.
        if (std::uint64_t failed = conn_.async_failures() - failures_before)
            throw Error(MUSTER_UNAVAILABLE, "NATS heartbeat: " + std::to_string(failed) + " of " +
                                                std::to_string(puts.size()) + " puts failed (" +
                                                conn_.last_async_failure() + ")");
        std::lock_guard lk(mu_);
        for (const auto& id : renewed)
            if (auto it = owned_.find(id); it != owned_.end()) it->second.claimed_ms = now;
    }

    // Deletes the key, so watchers see the removal at once.
    // An id this backend registered is deleted by its known key, in one
    // round trip and with no read (a read through a fresh consumer can be
    // slow, or answer from a replica still catching up, while a cluster
    // recovers); any other id is looked up first.
    void delete_instance(std::string_view id_view) {
        conn_.require_connected();
        std::string id(id_view);
        std::optional<std::string> known_key;
        {
            std::lock_guard lk(mu_);
            if (auto it = owned_.find(id); it != owned_.end()) known_key = it->second.key;
        }
        if (!known_key) known_key = claimed_key(id);
        if (known_key) {
            delete_key(*known_key, id);
        } else {
            // No claim: written before claims existed. Look the id up under
            // every role (the server reads the whole bucket).
            auto found = conn_.snapshot("*." + id, true);
            if (found.empty()) throw Error(MUSTER_NOT_FOUND, "no instance with id " + id);
            for (const auto& e : found)
                if (!e.deleted) delete_key(e.key, id);  // a delete marker: already stopped, OK
        }
        // The claim goes too: the id is free for any role. (A failure here
        // leaves a stale claim, which the next registration takes over.)
        kvStore_Delete(conn_.ids(), id.c_str());
        std::lock_guard lk(mu_);
        owned_.erase(id);
    }

    // The key of `id` by its claim (nullopt: no claim).
    std::optional<std::string> claimed_key(const std::string& id) {
        kvEntry* e = nullptr;
        natsStatus s = kvStore_Get(&e, conn_.ids(), id.c_str());
        if (s == NATS_NOT_FOUND) return std::nullopt;
        check(s, "claim of " + id);
        std::string role(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e)));
        kvEntry_Destroy(e);
        return key_of(role, id);
    }

    void delete_key(const std::string& key, const std::string& id) {
        check(kvStore_Delete(conn_.kv(), key.c_str()), "delete " + key);
        std::string note = "{\"id\":\"" + id + "\"}";
        std::string role = key.substr(0, key.find('.'));
        natsConnection_PublishString(conn_.nc(), ("services." + role + ".deregister").c_str(), note.c_str());
    }

public:
    std::unique_ptr<muster::sdk::Watch> watch(muster::sdk::RoleFilter role, muster::sdk::WatchSink sink) override {
        return std::make_unique<KvWatch>(conn_, role ? std::optional<std::string>(*role) : std::nullopt,
                                         std::chrono::milliseconds(sweep_), sink);
    }

private:
    muster::sdk::Host host_;
    Connection conn_;
    std::int64_t sweep_;
    std::mutex mu_;
    // What this backend registered: each id's key, the value it last wrote
    // there, and when it last wrote the id's claim.
    struct Owned {
        std::string key, value;
        std::int64_t claimed_ms = 0;
    };
    std::map<std::string, Owned> owned_;  // by id
};

}  // namespace
}  // namespace nats_kv

MUSTER_EXPORT_BACKEND(nats_kv::NatsKv, "1.0.0")
