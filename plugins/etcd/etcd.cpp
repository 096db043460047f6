// etcd: registrations in etcd v3 (keys.hpp for the layout). Each document
// carries its writer's last_seen, and readers honour the ttl from it, as
// with the SQL stores: etcd's lease is only a lower bound on liveness (a
// leader change gives every lease its full TTL again). The lease is what
// removes the keys of a process that died: one lease per backend (per
// process), renewed by heartbeats (a keep-alive when a quarter of the ttl
// has passed), so a heartbeat costs one transaction per 100 instances and
// now and then a keep-alive, and a dead process's instances go in one
// expiry. The lease is not revoked at exit: its keys are deregistered by
// then, an empty lease expires by itself, and a frozen store would hold
// the exit for a request timeout.
#include "etcd_watch.hpp"
#include "gateway.hpp"
#include "keys.hpp"
#include "kv.hpp"

#include <muster/cpp/backend.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/json_document.hpp>
#include <muster/cpp/option_spec.hpp>

#include <map>
#include <mutex>

namespace etcd {
namespace {

using muster::sdk::Error;
using muster::sdk::Instance;
using nlohmann::json;

// Instances per heartbeat transaction (etcd allows 128 operations).
constexpr std::size_t kBatch = 100;

std::string checked_prefix(std::string p) {
    bool ok = p.size() >= 2 && p[0] == '/' && p.back() != '/';
    for (unsigned char c : p) ok = ok && c > 0x20 && c < 0x7f;
    if (!ok)
        throw Error(MUSTER_INVALID_ARGUMENT, "option 'prefix': '" + p +
                                                 "' is not a key prefix: give printable ASCII starting with '/' and "
                                                 "not ending with one, e.g. /muster");
    return p;
}

GatewayOptions gateway_options(const muster::sdk::Options& o) {
    GatewayOptions g;
    g.endpoints = parse_endpoints(o.get("endpoints", "http://127.0.0.1:2379"));
    g.username = o.get("username");
    g.password = o.get("password");
    if (g.username.empty() != g.password.empty())
        throw Error(MUSTER_INVALID_ARGUMENT, "options 'username' and 'password' go together: give both or neither");
    g.ca_file = o.get("tls_ca");
    g.cert_file = o.get("tls_cert");
    g.key_file = o.get("tls_key");
    if (g.cert_file.empty() != g.key_file.empty())
        throw Error(MUSTER_INVALID_ARGUMENT, "options 'tls_cert' and 'tls_key' go together: give both or neither");
    g.dial_timeout_ms = static_cast<long>(o.get_duration_ms("dial_timeout", 2000));
    g.request_timeout_ms = static_cast<long>(o.get_duration_ms("request_timeout", 2000));
    return g;
}

class Etcd : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "registry in etcd v3 (its JSON gateway), on one lease per process";
    // No REAP: leases remove the keys of processes that die, and stops
    // delete theirs.
    static constexpr std::uint64_t kCapabilities = MUSTER_BACKEND_CAP_WATCH | MUSTER_BACKEND_CAP_SHARED;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("endpoints", "client URLs, separated by commas; calls fail over between them")
                .defaults_to("http://127.0.0.1:2379"),
            muster::sdk::string_option("prefix", "key prefix of the instances").defaults_to("/muster"),
            muster::sdk::string_option("username", "user name (etcd authentication, with password)"),
            muster::sdk::string_option("password", "password of username").secret(),
            muster::sdk::string_option("tls_ca", "CA certificate file for https endpoints"),
            muster::sdk::string_option("tls_cert", "client certificate file (with tls_key)"),
            muster::sdk::string_option("tls_key", "client key file (with tls_cert)"),
            muster::sdk::duration_option("dial_timeout", "how long connecting to an endpoint may take")
                .defaults_to("2s"),
            muster::sdk::duration_option("request_timeout", "longest wait for an answer").defaults_to("2s"),
            muster::sdk::duration_option("sweep", "how often watches re-read their range, a safety net")
                .defaults_to("10m"),
        };
        return specs;
    }

    explicit Etcd(const muster::sdk::BackendContext& ctx)
            : ttl_ms_(ctx.ttl_ms),
              keys_(checked_prefix(ctx.options.get("prefix", "/muster"))),
              gw_(gateway_options(ctx.options)),
              kv_(gw_),
              sweep_(ctx.options.get_duration_ms("sweep", 600000)) {}

    void register_instance(const Instance& in) override {
        with_lease([&](std::int64_t lease) { put_instance(in, lease); });
    }

    void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) override {
        with_lease([&](std::int64_t lease) { renew(ids, results, lease); });
    }

    void deregister(std::string_view id) override { stop(std::string(id)); }

    void list(muster::sdk::RoleFilter role, std::uint32_t flags,
              const std::function<bool(const Instance&)>& sink) override {
        // Each page handed on as it arrives (docs/chain.md).
        const std::int64_t now = muster::sdk::system_ms();
        kv_.scan(role ? keys_.role_prefix(std::string(*role)) : keys_.all_prefix(),
                 role ? Keys::kIdBytes : Keys::kRoleAndIdBytes, [&](KeyValue&& kv) {
                     auto doc = document_at(kv);
                     if (!doc) return true;
                     if (doc->stopped_at_ms != 0
                             ? !(flags & MUSTER_LIST_INCLUDE_STOPPED)
                             : now - doc->last_seen_ms > ttl_ms_ && !(flags & MUSTER_LIST_INCLUDE_STALE))
                         return true;
                     return sink(*doc);
                 });
    }

    std::unique_ptr<muster::sdk::Watch> watch(muster::sdk::RoleFilter role, muster::sdk::WatchSink sink) override {
        return std::make_unique<EtcdWatch>(gw_, keys_, role ? std::optional<std::string>(*role) : std::nullopt, ttl_ms_,
                                           std::chrono::milliseconds(sweep_), sink);
    }

private:
    // The instance document under `kv`'s key, if it is one of ours.
    std::optional<Instance> document_at(const KeyValue& kv) const { return keys_.document(kv.key, kv.value); }

    // Runs `f` with this backend's lease, granted when there is none. A
    // lease etcd no longer has (it expired while this process was frozen
    // or cut off: its keys are gone with it) is replaced once.
    template <class F>
    void with_lease(F&& f) {
        for (int attempt = 0;; ++attempt) {
            std::int64_t lease = current_lease();
            try {
                f(lease);
                return;
            } catch (const Error& e) {
                bool lost = e.status() == MUSTER_NOT_FOUND &&
                            std::string_view(e.what()).find("lease not found") != std::string_view::npos;
                if (!lost || attempt > 0) throw;
                forget_lease(lease);
            }
        }
    }

    std::int64_t current_lease() {
        std::lock_guard lk(lease_mu_);
        if (lease_ == 0) {
            lease_ = kv_.grant(std::max<std::int64_t>(1, (ttl_ms_ + 999) / 1000));
            renewed_ms_ = muster::sdk::system_ms();
        }
        return lease_;
    }

    // The lease is gone, and every key on it: what this backend registered
    // must be registered again (heartbeats answer NOT_FOUND).
    void forget_lease(std::int64_t lease) {
        {
            std::lock_guard lk(lease_mu_);
            if (lease_ == lease) lease_ = 0;
        }
        std::lock_guard lk(mu_);
        owned_.clear();
    }

    // Registers `in` under its role, claiming its id (B10), in a
    // transaction that holds only if neither key changed since it was read
    // (or, the first time, exists).
    void put_instance(const Instance& in, std::int64_t lease) {
        const std::string key = keys_.instance(in.role, in.id), claim = keys_.claim(in.id);
        // First as if the id were new, or as this backend last wrote it (the
        // common cases: one round trip); when that does not hold, the
        // transaction's failure branch reads both keys, and the next try
        // compares against what it read.
        std::optional<KeyValue> claimed, current;
        std::optional<Instance> mine;
        {
            std::lock_guard lk(mu_);
            if (auto it = owned_.find(in.id); it != owned_.end() && it->second.role == in.role) mine = it->second.doc;
        }
        for (int attempt = 0; attempt < 4; ++attempt) {
            if (claimed && claimed->value != in.role) {
                // Under another role, unless its key there is gone (a claim
                // left behind by a key deleted by hand): then taken over.
                auto there = kv_.get(keys_.instance(claimed->value, in.id));
                auto doc = there ? document_at(*there) : std::nullopt;
                if (doc && doc->stopped_at_ms == 0)
                    throw Error(MUSTER_CONFLICT, "id " + in.id + " is registered under role '" + claimed->value + "'");
            }
            Instance doc = in;
            auto before = attempt == 0 ? mine : current ? document_at(*current) : std::nullopt;
            const std::int64_t now = muster::sdk::system_ms();
            doc.registered_at_ms =
                before && before->stopped_at_ms == 0 && before->registered_at_ms ? before->registered_at_ms : now;
            doc.last_seen_ms = now;
            doc.stopped_at_ms = 0;
            std::string value = muster::sdk::encode_document(doc, now);
            json compare =
                attempt == 0 && mine
                    ? json::array({value_is(claim, in.role), exists(key)})
                    : json::array({claimed ? modified_at(claim, claimed->mod_revision) : created_at(claim, 0),
                                   current ? modified_at(key, current->mod_revision) : created_at(key, 0)});
            TxnResult w = kv_.txn(compare, json::array({put_op(claim, in.role, lease), put_op(key, value, lease)}),
                                  json::array({range_op(claim), range_op(key)}));
            if (w.succeeded) {
                std::lock_guard lk(mu_);
                owned_[in.id] = Owned{in.role, doc};
                return;
            }
            claimed = Kv::ranged(w, 0);  // what is there now: the next try compares against it
            current = Kv::ranged(w, 1);
        }
        throw Error(MUSTER_TRY_AGAIN, "etcd: id " + in.id + " kept changing while registering it; try again");
    }

    // Keeps the lease alive, then writes each instance's document with a
    // new last_seen, if its key still exists: a batch per transaction, and
    // key by key only when a batch finds one missing.
    void renew(std::span<const std::string_view> ids, std::span<muster_status> results, std::int64_t lease) {
        // The lease needs renewing only a few times per ttl; a heartbeat
        // sooner after the last renewal is one round trip, not two (a lease
        // lost meanwhile fails the transaction's put, and with_lease acts).
        const std::int64_t started = muster::sdk::system_ms();
        bool renew_lease;
        {
            std::lock_guard lk(lease_mu_);
            renew_lease = started - renewed_ms_ >= ttl_ms_ / 4;
        }
        if (renew_lease) {
            if (kv_.keep_alive(lease) <= 0) throw Error(MUSTER_NOT_FOUND, "etcd: requested lease not found");
            std::lock_guard lk(lease_mu_);
            renewed_ms_ = started;
        }
        struct Write {
            std::size_t index;
            std::string key, value;
        };
        std::vector<Write> writes;
        const std::int64_t now = muster::sdk::system_ms();
        {
            std::lock_guard lk(mu_);
            for (std::size_t i = 0; i < ids.size(); ++i) {
                auto it = owned_.find(std::string(ids[i]));
                results[i] = it == owned_.end() ? MUSTER_NOT_FOUND : MUSTER_OK;
                if (it == owned_.end()) continue;
                it->second.doc.last_seen_ms = now;
                writes.push_back(
                    {i, keys_.instance(it->second.role, it->first), muster::sdk::encode_document(it->second.doc, now)});
            }
        }
        for (std::size_t from = 0; from < writes.size(); from += kBatch) {
            std::size_t to = std::min(writes.size(), from + kBatch);
            json compare = json::array(), puts = json::array();
            for (std::size_t i = from; i < to; ++i) {
                compare.push_back(exists(writes[i].key));
                puts.push_back(put_op(writes[i].key, writes[i].value, lease));
            }
            if (kv_.txn(compare, puts).succeeded) continue;
            for (std::size_t i = from; i < to; ++i)
                if (!kv_.txn(json::array({exists(writes[i].key)}), json::array({puts[i - from]})).succeeded)
                    missing(ids[writes[i].index], results[writes[i].index]);
        }
    }

    // A heartbeat found the key gone (deleted by another program): the
    // chain registers it again.
    void missing(std::string_view id, muster_status& result) {
        result = MUSTER_NOT_FOUND;
        std::lock_guard lk(mu_);
        owned_.erase(std::string(id));
    }

    // A graceful stop in two steps, so that watchers can tell it from an
    // expiry: the document with stopped_at first (REMOVED with stopped_at),
    // then its deletion.
    void stop(const std::string& id) {
        std::optional<Owned> owned;
        {
            std::lock_guard lk(mu_);
            if (auto it = owned_.find(id); it != owned_.end()) owned = it->second;
        }
        std::string role;
        if (owned) {
            role = owned->role;
        } else if (auto claimed = kv_.get(keys_.claim(id))) {
            role = claimed->value;
        } else {
            throw Error(MUSTER_NOT_FOUND, "no instance with id " + id);
        }
        const std::string key = keys_.instance(role, id), claim = keys_.claim(id);
        std::optional<Instance> doc = owned ? std::optional<Instance>(owned->doc) : std::nullopt;
        if (!doc)
            if (auto kv = kv_.get(key)) doc = document_at(*kv);
        if (doc && doc->stopped_at_ms == 0) {
            doc->stopped_at_ms = muster::sdk::system_ms();
            kv_.txn(json::array({exists(key)}),
                    json::array({put_keeping_lease_op(key, muster::sdk::encode_document(*doc, doc->stopped_at_ms))}));
        }
        // The claim stays for a ttl on a lease of its own, so that a second
        // deregistration still finds the id (OK: already stopped), and then
        // goes: the id is free for any role.
        std::int64_t linger = kv_.grant(std::max<std::int64_t>(1, (ttl_ms_ + 999) / 1000));
        kv_.txn(json::array({value_is(claim, role)}), json::array({delete_op(key), put_op(claim, role, linger)}),
                json::array({delete_op(key)}));
        std::lock_guard lk(mu_);
        owned_.erase(id);
    }

    std::int64_t ttl_ms_;
    Keys keys_;
    Gateway gw_;
    Kv kv_;
    std::int64_t sweep_;
    std::mutex lease_mu_;  // guards lease_ and renewed_ms_
    std::int64_t lease_ = 0;
    std::int64_t renewed_ms_ = 0;  // when lease_ was granted or last kept alive
    // What this backend registered: each id's role and document.
    struct Owned {
        std::string role;
        Instance doc;
    };
    std::mutex mu_;  // guards owned_
    std::map<std::string, Owned> owned_;
};

}  // namespace
}  // namespace etcd

MUSTER_EXPORT_BACKEND(etcd::Etcd, "1.0.0")
