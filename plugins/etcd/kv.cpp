#include "kv.hpp"

#include "base64.hpp"
#include "keys.hpp"

#include <muster/cpp/error.hpp>

namespace etcd {

using nlohmann::json;

std::uint64_t u64(const json& j, const char* field) {
    auto it = j.find(field);
    if (it == j.end()) return 0;
    if (it->is_number_unsigned() || it->is_number_integer()) return it->get<std::uint64_t>();
    if (!it->is_string()) return 0;
    try {
        return std::stoull(it->get<std::string>());
    } catch (const std::exception&) {
        return 0;
    }
}

std::optional<KeyValue> key_value_of(const json& j) {
    if (!j.is_object() || !j.contains("key") || !j["key"].is_string()) return std::nullopt;
    KeyValue kv;
    auto key = base64_decode(j["key"].get<std::string>());
    if (!key) return std::nullopt;
    kv.key = std::move(*key);
    if (j.contains("value") && j["value"].is_string()) {
        auto value = base64_decode(j["value"].get<std::string>());
        if (!value) return std::nullopt;
        kv.value = std::move(*value);
    }
    kv.create_revision = u64(j, "create_revision");
    kv.mod_revision = u64(j, "mod_revision");
    kv.lease = static_cast<std::int64_t>(u64(j, "lease"));
    return kv;
}

json put_op(const std::string& key, const std::string& value, std::int64_t lease) {
    json put{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
    if (lease != 0) put["lease"] = std::to_string(lease);
    return {{"request_put", put}};
}

json put_keeping_lease_op(const std::string& key, const std::string& value) {
    return {{"request_put", {{"key", base64_encode(key)}, {"value", base64_encode(value)}, {"ignore_lease", true}}}};
}

json delete_op(const std::string& key) { return {{"request_delete_range", {{"key", base64_encode(key)}}}}; }

json range_op(const std::string& key) { return {{"request_range", {{"key", base64_encode(key)}}}}; }

json exists(const std::string& key) {
    return {{"key", base64_encode(key)}, {"target", "VERSION"}, {"result", "GREATER"}, {"version", "0"}};
}

json created_at(const std::string& key, std::uint64_t revision) {
    return {{"key", base64_encode(key)},
            {"target", "CREATE"},
            {"result", "EQUAL"},
            {"create_revision", std::to_string(revision)}};
}

json modified_at(const std::string& key, std::uint64_t revision) {
    return {{"key", base64_encode(key)},
            {"target", "MOD"},
            {"result", "EQUAL"},
            {"mod_revision", std::to_string(revision)}};
}

json value_is(const std::string& key, const std::string& value) {
    return {{"key", base64_encode(key)}, {"target", "VALUE"}, {"result", "EQUAL"}, {"value", base64_encode(value)}};
}

Page Kv::range(const std::string& key, const std::string& end, std::int64_t limit, std::uint64_t revision,
               bool keys_only) {
    json body{{"key", base64_encode(key)}, {"range_end", base64_encode(end)}, {"limit", std::to_string(limit)}};
    if (revision != 0) body["revision"] = std::to_string(revision);
    if (keys_only) body["keys_only"] = true;
    json j = gw_.call("/v3/kv/range", body);
    Page p;
    p.more = j.value("more", false);
    p.revision = j.contains("header") ? u64(j["header"], "revision") : 0;
    p.count = u64(j, "count");
    if (j.contains("kvs") && j["kvs"].is_array()) {
        p.kvs.reserve(j["kvs"].size());
        for (const auto& e : j["kvs"])
            if (auto kv = key_value_of(e)) p.kvs.push_back(std::move(*kv));
    }
    return p;
}

std::uint64_t Kv::scan(const std::string& prefix, std::string_view alphabet,
                       const std::function<bool(KeyValue&&)>& each) {
    constexpr std::int64_t kPage = 1000;          // keys per answer of the gateway
    constexpr std::uint64_t kSplit = 16 * kPage;  // a range past this is read as narrower ones
    enum class Read { empty, some, stopped };
    std::uint64_t at = 0;
    // Keys in [from, end), which all start with `narrow`.
    std::function<Read(std::string, const std::string&, const std::string&)> read =
        [&](std::string from, const std::string& end, const std::string& narrow) {
            for (bool first = true;; first = false) {
                Page p = range(from, end, kPage, at);
                if (at == 0) at = p.revision;
                if (p.kvs.empty()) return first ? Read::empty : Read::some;
                std::string last = p.kvs.back().key;
                for (auto& kv : p.kvs)
                    if (!each(std::move(kv))) return Read::stopped;
                if (!p.more) return Read::some;
                from = last + std::string(1, '\0');
                std::size_t byte = last.size() > narrow.size() ? alphabet.find(last[narrow.size()]) : alphabet.npos;
                if (!first || p.count <= kSplit || byte == alphabet.npos) continue;
                // The rest one byte narrower: the range of `last`'s next
                // byte, then of each byte after it. An empty one (most
                // bytes of a big alphabet are nobody's) sends the rest back
                // to one range, whose first page has keys and says whether
                // to split again, so no run of empty answers outlasts the
                // read deadline.
                for (; byte < alphabet.size(); ++byte) {
                    std::string lo = narrow + alphabet[byte], hi = Keys::range_end(lo);
                    if (lo >= end) break;
                    Read r = read(std::max(lo, from), std::min(hi, end), lo);
                    if (r == Read::stopped) return r;
                    if (r == Read::empty) return hi < end ? read(hi, end, narrow) : Read::some;
                }
                return Read::some;
            }
        };
    read(prefix, Keys::range_end(prefix), prefix);
    return at;
}

std::optional<KeyValue> Kv::get(const std::string& key) {
    json j = gw_.call("/v3/kv/range", {{"key", base64_encode(key)}});
    if (!j.contains("kvs") || !j["kvs"].is_array() || j["kvs"].empty()) return std::nullopt;
    return key_value_of(j["kvs"][0]);
}

TxnResult Kv::txn(const json& compare, const json& success, const json& failure) {
    json body{{"compare", compare}, {"success", success}, {"failure", failure}};
    json j = gw_.call("/v3/kv/txn", body);
    TxnResult r;
    r.succeeded = j.value("succeeded", false);
    r.responses = j.contains("responses") ? j["responses"] : json::array();
    r.revision = j.contains("header") ? u64(j["header"], "revision") : 0;
    return r;
}

std::optional<KeyValue> Kv::ranged(const TxnResult& r, std::size_t index) {
    if (!r.responses.is_array() || index >= r.responses.size()) return std::nullopt;
    const json& resp = r.responses[index];
    if (!resp.contains("response_range")) return std::nullopt;
    const json& range = resp["response_range"];
    if (!range.contains("kvs") || !range["kvs"].is_array() || range["kvs"].empty()) return std::nullopt;
    return key_value_of(range["kvs"][0]);
}

std::int64_t Kv::grant(std::int64_t ttl_s) {
    json j = gw_.call("/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}});
    auto id = static_cast<std::int64_t>(u64(j, "ID"));
    if (id == 0)
        throw muster::sdk::Error(
            MUSTER_UNAVAILABLE,
            "etcd: lease grant answered no lease" + (j.contains("error") ? ": " + j["error"].dump() : std::string()));
    return id;
}

std::int64_t Kv::keep_alive(std::int64_t lease) {
    json j = gw_.call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}});
    const json& r = j.contains("result") ? j["result"] : j;
    return static_cast<std::int64_t>(u64(r, "TTL"));
}

std::uint64_t Kv::revision(const std::string* at) {
    // A key no instance has (a NUL byte is in no key of ours): the answer's
    // header carries the revision.
    json j = gw_.call("/v3/kv/range", {{"key", base64_encode(std::string(1, '\0'))}, {"count_only", true}}, at);
    return j.contains("header") ? u64(j["header"], "revision") : 0;
}

}  // namespace etcd
