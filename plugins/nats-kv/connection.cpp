#include "connection.hpp"

#include "document.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>

namespace nats_kv {

using muster::sdk::Error;

void check(natsStatus s, const std::string& what) {
    if (s != NATS_OK) fail(s, what);
}

void fail(natsStatus s, const std::string& what) {
    muster_status st;
    switch (s) {
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
    case NATS_SSL_ERROR:
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED: st = MUSTER_UNAVAILABLE; break;
    case NATS_NOT_FOUND: st = MUSTER_NOT_FOUND; break;
    case NATS_INVALID_ARG: st = MUSTER_INVALID_ARGUMENT; break;
    default: st = MUSTER_INTERNAL; break;
    }
    const char* detail = nats_GetLastError(nullptr);
    throw Error(st, "NATS " + what + ": " + natsStatus_GetText(s) +
                        (detail && *detail ? std::string(" (") + detail + ")" : ""));
}

std::optional<Entry> entry_of(kvEntry* e) {
    Entry out;
    out.key = kvEntry_Key(e);
    out.revision = kvEntry_Revision(e);
    kvOperation op = kvEntry_Operation(e);
    if (op == kvOp_Delete || op == kvOp_Purge) {
        out.deleted = true;
        auto dot = out.key.find('.');
        out.instance.role = out.key.substr(0, dot);
        out.instance.id = dot == std::string::npos ? "" : out.key.substr(dot + 1);
        out.instance.stopped_at_ms = kvEntry_Created(e) / 1000000;  // when it was deleted
        return out;
    }
    auto doc = decode(static_cast<const char*>(kvEntry_Value(e)), kvEntry_ValueLen(e));
    if (!doc || key_of(doc->role, doc->id) != out.key) return std::nullopt;
    out.instance = std::move(*doc);
    out.instance.last_seen_ms = kvEntry_Created(e) / 1000000;
    return out;
}

Connection::Connection(const muster::sdk::Options& o, std::int64_t ttl_ms)
        : bucket_(o.get("bucket", "muster")),
          ttl_ms_(o.has("ttl") ? o.get_duration_ms("ttl") : ttl_ms),
          timeout_ms_(o.get_duration_ms("request_timeout", 2000)) {
    try {
        check(natsOptions_Create(&opts_), "options");
        std::vector<std::string> servers;
        std::stringstream ss(o.get("url", "nats://127.0.0.1:4222"));
        for (std::string s; std::getline(ss, s, ',');) {
            s.erase(0, s.find_first_not_of(' '));
            s.erase(s.find_last_not_of(' ') + 1);
            if (!s.empty()) servers.push_back(s);
        }
        std::vector<const char*> raw;
        for (auto& s : servers) raw.push_back(s.c_str());
        check(natsOptions_SetServers(opts_, raw.data(), static_cast<int>(raw.size())), "url");
        check(natsOptions_SetTimeout(opts_, o.get_duration_ms("connect_timeout", 2000)), "connect_timeout");
        check(natsOptions_SetMaxReconnect(opts_, static_cast<int>(o.get_int("max_reconnect", -1))), "max_reconnect");
        check(natsOptions_SetReconnectWait(opts_, o.get_duration_ms("reconnect_wait", 250)), "reconnect_wait");
        check(natsOptions_SetPingInterval(opts_, 2000), "ping interval");
        check(natsOptions_SetMaxPingsOut(opts_, 2), "max pings out");
        if (o.has("tls_ca") || o.has("tls_cert")) check(natsOptions_SetSecure(opts_, true), "tls");
        if (o.has("tls_ca")) check(natsOptions_LoadCATrustedCertificates(opts_, o.get("tls_ca").c_str()), "tls_ca");
        if (o.has("tls_cert") != o.has("tls_key"))
            throw Error(MUSTER_INVALID_ARGUMENT, "options 'tls_cert' and 'tls_key' go together");
        if (o.has("tls_cert"))
            check(natsOptions_LoadCertificatesChain(opts_, o.get("tls_cert").c_str(), o.get("tls_key").c_str()),
                  "tls_cert/tls_key");
        if (o.has("creds"))
            check(natsOptions_SetUserCredentialsFromFiles(opts_, o.get("creds").c_str(), nullptr), "creds");
        if (o.has("user"))
            check(natsOptions_SetUserInfo(opts_, o.get("user").c_str(), o.get("password").c_str()), "user");
        if (o.has("token")) check(natsOptions_SetToken(opts_, o.get("token").c_str()), "token");
        check(natsConnection_Connect(&nc_, opts_), "connect");
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = timeout_ms_;
        jo.PublishAsync.ErrHandler = &Connection::on_async_failure;
        jo.PublishAsync.ErrHandlerClosure = this;
        check(natsConnection_JetStream(&js_, nc_, &jo), "JetStream");
        std::int64_t replicas = o.get_int("replicas", 1);
        replicas_ = static_cast<int>(replicas);
        check(open_bucket(&kv_, bucket_, ttl_ms_), "bucket '" + bucket_ + "'");
        check(open_bucket(&ids_, ids_bucket(), ids_ttl_ms()), "bucket '" + ids_bucket() + "'");
        kvStatus* st = nullptr;
        check(kvStore_Status(&st, kv_), "bucket status");
        std::int64_t have_ttl = kvStatus_TTL(st) / 1000000;
        std::int64_t have_replicas = kvStatus_Replicas(st);
        history_ = kvStatus_History(st);
        kvStatus_Destroy(st);
        if (have_ttl != ttl_ms_)
            throw Error(MUSTER_CONFLICT, "bucket '" + bucket_ + "' has max age " + std::to_string(have_ttl) +
                                             "ms but the configured ttl is " + std::to_string(ttl_ms_) +
                                             "ms: use the bucket's ttl, another bucket, or delete it");
        if (have_replicas != replicas)
            throw Error(MUSTER_CONFLICT, "bucket '" + bucket_ + "' has " + std::to_string(have_replicas) +
                                             " replicas but the configuration asks for " + std::to_string(replicas));
    } catch (...) {
        release();
        throw;
    }
}

Connection::~Connection() { release(); }

natsStatus Connection::create_bucket(kvStore** kv, const std::string& name, std::int64_t ttl_ms) const {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = name.c_str();
    cfg.History = 1;
    cfg.TTL = ttl_ms * 1000000;  // cnats takes nanoseconds
    cfg.Replicas = replicas_;
    cfg.StorageType = js_FileStorage;
    return js_CreateKeyValue(kv, js_, &cfg);
}

natsStatus Connection::open_bucket(kvStore** kv, const std::string& name, std::int64_t ttl_ms) const {
    natsStatus s = js_KeyValue(kv, js_, name.c_str());
    if (s != NATS_NOT_FOUND) return s;
    s = create_bucket(kv, name, ttl_ms);
    // Another process may have created it at the same moment.
    return s == NATS_OK ? s : js_KeyValue(kv, js_, name.c_str());
}

bool Connection::recreate_if_missing() {
    if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED) return false;
    bool made = false;
    for (const auto& [name, ttl] : {std::pair{bucket_, ttl_ms_}, std::pair{ids_bucket(), ids_ttl_ms()}}) {
        jsStreamInfo* si = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        natsStatus s = js_GetStreamInfo(&si, js_, ("KV_" + name).c_str(), nullptr, &jerr);
        if (s == NATS_OK) {
            jsStreamInfo_Destroy(si);
            continue;
        }
        // Only the server's own "no such stream" counts: a server still
        // starting (no responders, timeouts) is not ours to judge.
        if (s != NATS_NOT_FOUND) continue;
        // Our handles address the buckets by name, so they serve the new ones as is.
        kvStore* kv = nullptr;
        if (create_bucket(&kv, name, ttl) != NATS_OK) continue;
        kvStore_Destroy(kv);
        made = true;
    }
    return made;
}

void Connection::forget_pending_puts() {
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) natsMsgList_Destroy(&pending);
}

void Connection::release() {
    if (kv_) kvStore_Destroy(kv_);
    if (ids_) kvStore_Destroy(ids_);
    if (js_) jsCtx_Destroy(js_);
    if (nc_) natsConnection_Destroy(nc_);
    if (opts_) natsOptions_Destroy(opts_);
    kv_ = nullptr;
    ids_ = nullptr;
    js_ = nullptr;
    nc_ = nullptr;
    opts_ = nullptr;
}

void Connection::on_async_failure(jsCtx*, jsPubAckErr* err, void* self) {
    auto* c = static_cast<Connection*>(self);
    std::lock_guard lk(c->async_mu_);
    ++c->async_failures_;
    c->last_async_failure_ = err->ErrText ? err->ErrText : natsStatus_GetText(err->Err);
}

std::uint64_t Connection::async_failures() const {
    std::lock_guard lk(async_mu_);
    return async_failures_;
}

std::string Connection::last_async_failure() const {
    std::lock_guard lk(async_mu_);
    return last_async_failure_;
}

void Connection::require_connected() const {
    if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED)
        throw Error(MUSTER_UNAVAILABLE, "NATS: not connected to any server (reconnecting)");
}

kvWatchOptions Connection::watch_options(bool with_deletes) const {
    kvWatchOptions wo;
    kvWatchOptions_Init(&wo);
    wo.IgnoreDeletes = !with_deletes;
    // With one value kept per key, every value the bucket holds is a
    // current one: delivering them all is the same answer, without the
    // server's pass to find each key's last value before the first entry
    // (about 300 ms at 100,000 keys on NATS 2.9, against 90 ms).
    wo.IncludeHistory = history_ == 1;
    return wo;
}

void Connection::each(const std::string& filter, bool with_deletes, const std::function<bool(Entry&&)>& f) const {
    require_connected();
    kvWatchOptions wo = watch_options(with_deletes);
    // Each try reads through a new ephemeral consumer. In a cluster that has
    // lost a node, the server may place one on the dead peer (NATS 2.9), and
    // it never answers: then the next try, with another consumer, does. The
    // tries together stay within the request timeout. A try that delivered
    // entries is not repeated (`f` has them): its silence fails the call.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    std::int64_t per_try = std::max<std::int64_t>(250, timeout_ms_ / 4);
    natsStatus s = NATS_OK;
    while (true) {
        kvWatcher* w = nullptr;
        check(filter == ">" ? kvStore_WatchAll(&w, kv_, &wo) : kvStore_Watch(&w, kv_, filter.c_str(), &wo), "list");
        bool delivered = false, more = true;
        while (more) {
            kvEntry* e = nullptr;
            s = kvWatcher_Next(&e, w, per_try);       // each entry gets a full wait: the deadline measures silence
            if (s != NATS_OK || e == nullptr) break;  // NULL: the initial values are all delivered
            auto entry = entry_of(e);
            kvEntry_Destroy(e);
            if (entry) {
                delivered = true;
                more = f(std::move(*entry));
            }
        }
        kvWatcher_Destroy(w);
        if (s == NATS_OK) return;
        if (delivered || s != NATS_TIMEOUT ||
            std::chrono::steady_clock::now() + std::chrono::milliseconds(per_try) > deadline)
            break;
    }
    fail(s, "list");
}

std::vector<Entry> Connection::snapshot(const std::string& filter, bool with_deletes) const {
    std::vector<Entry> out;
    each(filter, with_deletes, [&](Entry&& e) {
        out.push_back(std::move(e));
        return true;
    });
    return out;
}

}  // namespace nats_kv
