#include "etcd_watch.hpp"

#include "base64.hpp"

#include <muster/cpp/clock.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/json_document.hpp>

#include <algorithm>
#include <map>
#include <vector>

namespace etcd {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// The longest watch message held (etcd batches events up to about 1.5 MB).
constexpr std::size_t kMaxMessage = 16u << 20;
// While the stream is quiet, how often etcd is asked whether it answers.
constexpr auto kQuiet = std::chrono::seconds(1);

}  // namespace

EtcdWatch::EtcdWatch(Gateway& gw, const Keys& keys, std::optional<std::string> role, std::int64_t ttl_ms,
                     std::chrono::milliseconds sweep, muster::sdk::WatchSink sink)
        : gw_(gw),
          kv_(gw),
          keys_(keys),
          from_(role ? keys.role_prefix(*role) : keys.all_prefix()),
          end_(Keys::range_end(from_)),
          bytes_(role ? Keys::kIdBytes : Keys::kRoleAndIdBytes),
          ttl_ms_(ttl_ms),
          sweep_(sweep),
          sink_(sink),
          known_(ttl_ms),
          stream_(kMaxMessage),
          multi_(curl_multi_init()),
          thread_([this] { run(); }) {}

EtcdWatch::~EtcdWatch() {
    stop_ = true;
    curl_multi_wakeup(multi_);
    thread_.join();
    curl_multi_cleanup(multi_);
}

void EtcdWatch::emit(muster_event_type type, const muster::sdk::Instance* inst) {
    sink_(type, inst, MUSTER_OK, nullptr);
}

void EtcdWatch::fail(const std::string& why) {
    if (!failing_) sink_(MUSTER_EVENT_ERROR, nullptr, MUSTER_UNAVAILABLE, why.c_str());
    failing_ = true;
}

void EtcdWatch::pause(long ms) {
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (!stop_ && Clock::now() < until) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::max<long>(1, left)), nullptr);
    }
}

void EtcdWatch::run() {
    auto next_sweep = Clock::now() + sweep_;
    while (!stop_) {
        if (!synced_ || relist_ || Clock::now() >= next_sweep) {
            if (!resync()) {
                pause(1000);
                continue;
            }
            relist_ = false;
            next_sweep = Clock::now() + sweep_;
        }
        if (!follow()) pause(500);  // etcd did not answer: try again soon
    }
}

bool EtcdWatch::resync() {
    std::vector<muster::sdk::Instance> live;
    std::map<std::string, std::int64_t> stopped;  // id -> stopped_at, of stop notes not yet deleted
    std::vector<std::uint64_t> revisions;
    std::uint64_t at = 0;
    try {
        at = kv_.scan(from_, bytes_, [&](KeyValue&& kv) {
            auto doc = keys_.document(kv.key, kv.value);
            if (!doc) return true;
            if (doc->stopped_at_ms != 0)
                stopped[doc->id] = doc->stopped_at_ms;
            else if (muster::sdk::system_ms() - doc->last_seen_ms <= ttl_ms_) {
                live.push_back(std::move(*doc));
                revisions.push_back(kv.mod_revision);
            }
            return true;
        });
    } catch (const muster::sdk::Error& e) {
        fail(e.what());
        return false;
    }
    std::map<std::string_view, muster::sdk::KnownInstances::Seen> seen;
    for (std::size_t i = 0; i < live.size(); ++i) seen[live[i].id] = {&live[i], revisions[i]};
    known_.replace(
        seen,
        [&](const std::string& id, const std::string& role) {
            auto s = stopped.find(id);
            return muster::sdk::removed_only(id, role, s == stopped.end() ? 0 : s->second);
        },
        [&](muster_event_type t, const muster::sdk::Instance& i) { emit(t, &i); });
    revision_ = at;
    if (!synced_ || failing_) emit(MUSTER_EVENT_SYNCED, nullptr);
    synced_ = true;
    failing_ = false;
    return true;
}

namespace {

size_t on_bytes(char* data, size_t size, size_t n, void* user) {
    auto* feed = static_cast<std::function<bool(std::string_view)>*>(user);
    return (*feed)(std::string_view(data, size * n)) ? size * n : 0;
}

}  // namespace

bool EtcdWatch::follow() {
    json create{{"create_request",
                 {{"key", base64_encode(from_)},
                  {"range_end", base64_encode(end_)},
                  {"start_revision", std::to_string(revision_ + 1)},
                  {"prev_kv", true},
                  {"progress_notify", true}}}};
    CURL* h = curl_easy_init();
    if (!h) return false;
    curl_slist* headers = nullptr;
    std::string endpoint;
    try {
        endpoint = gw_.prepare_stream(h, "/v3/watch", create.dump(), &headers);
    } catch (const muster::sdk::Error& e) {  // authentication failed
        curl_slist_free_all(headers);
        curl_easy_cleanup(h);
        fail(e.what());
        return false;
    }
    stream_.reset();
    stream_ended_ = false;
    std::function<bool(std::string_view)> feed = [this](std::string_view bytes) {
        heard_ = Clock::now();
        return stream_.feed(bytes, [this](std::string_view m) { on_message(m); });
    };
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &feed);
    curl_multi_add_handle(multi_, h);
    heard_ = Clock::now();
    auto sweep_at = Clock::now() + sweep_;
    bool answered = true;
    std::string why;
    while (!stop_ && !relist_ && !stream_ended_ && Clock::now() < sweep_at) {
        int running = 0;
        curl_multi_perform(multi_, &running);
        int queued = 0;
        if (CURLMsg* m = curl_multi_info_read(multi_, &queued); m && m->msg == CURLMSG_DONE) {
            // The server closed the stream (a member stopping), or the
            // connection broke: open it again from revision_.
            if (m->data.result != CURLE_OK) {
                why = "etcd " + endpoint + " watch: " + curl_easy_strerror(m->data.result);
                answered = m->data.result != CURLE_COULDNT_CONNECT && m->data.result != CURLE_OPERATION_TIMEDOUT;
                gw_.failed(endpoint);
            }
            break;
        }
        if (relist_ || stream_ended_) break;
        if (known_.next_due() != 0 && known_.next_due() <= muster::sdk::system_ms() && !expire_due()) {
            answered = false;
            break;
        }
        // Quiet for a while: does the member this stream is on still
        // answer? (A frozen server keeps the connection open and says
        // nothing.) Any call of this backend's it answered lately says so:
        // many watches ask about once a second between them.
        if (Clock::now() - heard_ >= kQuiet) {
            try {
                if (!gw_.answered_within(endpoint, kQuiet)) kv_.revision(&endpoint);
                heard_ = Clock::now();
            } catch (const muster::sdk::Error& e) {
                why = e.what();
                answered = false;
                gw_.failed(endpoint);
                break;
            }
        }
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(heard_ + kQuiet - Clock::now()).count();
        if (known_.next_due() != 0) wait = std::min<long>(wait, known_.next_due() - muster::sdk::system_ms());
        curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::clamp<long>(wait, 1, 1000)), nullptr);
    }
    curl_multi_remove_handle(multi_, h);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    if (!answered) fail(why);
    // A stream etcd ended (an error, a cancel) is opened again after a
    // pause, not at once.
    return answered && !stream_ended_;
}

void EtcdWatch::on_message(std::string_view text) {
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("result") || !j["result"].is_object()) {
        // An error message ({"error": ...}) or not etcd: the stream is over.
        stream_ended_ = true;
        if (j.is_object() && j.contains("error")) fail("etcd watch: " + j["error"].dump());
        return;
    }
    const json& r = j["result"];
    const json empty = json::object();
    const json& header = r.contains("header") ? r["header"] : empty;
    std::string cluster = header.contains("cluster_id") ? header["cluster_id"].dump() : std::string();
    std::uint64_t at = u64(header, "revision");
    if (u64(r, "compact_revision") != 0 || (!cluster.empty() && !cluster_.empty() && cluster != cluster_)) {
        relist_ = true;  // history we need is gone, or belongs to another cluster
        cluster_ = cluster;
        return;
    }
    if (r.value("canceled", false)) {
        stream_ended_ = true;
        fail("etcd watch canceled: " + r.value("cancel_reason", std::string("no reason given")));
        return;
    }
    if (!cluster.empty()) cluster_ = cluster;
    if (r.value("created", false)) {
        // A store whose revisions went back lost its data: re-list.
        if (at != 0 && at < revision_) {
            relist_ = true;
            return;
        }
        if (failing_) emit(MUSTER_EVENT_SYNCED, nullptr);
        failing_ = false;
        return;
    }
    if (!r.contains("events") || !r["events"].is_array() || r["events"].empty()) {
        revision_ = std::max(revision_, at);  // a progress notification
        return;
    }
    for (const auto& e : r["events"]) apply(e);
}

void EtcdWatch::apply(const json& event) {
    if (!event.is_object() || !event.contains("kv")) return;
    auto kv = key_value_of(event["kv"]);
    if (!kv) return;
    revision_ = std::max(revision_, kv->mod_revision);
    if (event.value("type", std::string("PUT")) != "DELETE") {
        put(*kv);
        return;
    }
    // A lease's expiry, or the second step of a stop (the first wrote
    // stopped_at, and the prev_kv shows it).
    auto where = keys_.parse(kv->key);
    if (!where) return;
    const auto& [role, id] = *where;
    const auto* k = known_.find(id);
    if (!k || *k->role != role || kv->mod_revision <= k->revision) return;
    std::int64_t stopped_at = 0;
    if (event.contains("prev_kv"))
        if (auto prev = key_value_of(event["prev_kv"]))
            if (auto doc = muster::sdk::decode_document(prev->value)) stopped_at = doc->stopped_at_ms;
    if (auto removed = known_.forget(id, stopped_at)) emit(MUSTER_EVENT_REMOVED, &*removed);
}

void EtcdWatch::put(const KeyValue& kv) {
    auto doc = keys_.document(kv.key, kv.value);
    if (!doc) return;  // not an instance of ours
    const std::string &role = doc->role, &id = doc->id;
    const auto* k = known_.find(id);
    if (k && kv.mod_revision <= k->revision) return;  // a re-list read this or newer
    if (doc->stopped_at_ms != 0 || muster::sdk::system_ms() - doc->last_seen_ms > ttl_ms_) {
        // Stopped (the first step of a stop), or written long ago: gone,
        // if it was known under this key's role.
        if (k && *k->role == role)
            if (auto removed = known_.forget(id, doc->stopped_at_ms)) emit(MUSTER_EVENT_REMOVED, &*removed);
        return;
    }
    if (auto type = known_.see(*doc, kv.mod_revision)) emit(*type, &*doc);
}

bool EtcdWatch::expire_due() {
    for (const auto& id : known_.due(muster::sdk::system_ms())) {
        const auto* k = known_.find(id);
        if (!k) continue;
        std::optional<KeyValue> kv;
        try {
            kv = kv_.get(keys_.instance(*k->role, id));
        } catch (const muster::sdk::Error& e) {
            fail(e.what());
            return false;
        }
        if (kv && kv->mod_revision > k->revision) {  // a put the stream has not brought yet
            put(*kv);
            const auto* now = known_.find(id);
            if (!now || now->revision == kv->mod_revision) continue;  // renewed, or gone as it says
        }
        if (auto removed = known_.forget(id)) emit(MUSTER_EVENT_REMOVED, &*removed);
    }
    return true;
}

}  // namespace etcd
