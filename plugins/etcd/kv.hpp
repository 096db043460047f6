// The few calls of etcd's v3 API muster makes, typed: ranges, transactions
// and leases, over the JSON gateway (gateway.hpp).
#pragma once

#include "gateway.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace etcd {

struct KeyValue {
    std::string key, value;
    std::uint64_t create_revision = 0, mod_revision = 0;
    std::int64_t lease = 0;
};

// A KeyValue from the gateway's JSON (base64 key and value); nullopt for a
// malformed one.
std::optional<KeyValue> key_value_of(const nlohmann::json& j);
// A 64-bit field of the gateway's JSON (a string, by proto3's mapping); 0
// when absent.
std::uint64_t u64(const nlohmann::json& j, const char* field);

// One page of a range read.
struct Page {
    std::vector<KeyValue> kvs;
    bool more = false;           // keys past the limit remain
    std::uint64_t revision = 0;  // the store's revision the page was read at
    std::uint64_t count = 0;     // keys in the whole range asked for
};

// A transaction's answer.
struct TxnResult {
    bool succeeded = false;
    nlohmann::json responses;  // one per operation of the branch taken
    std::uint64_t revision = 0;
};

// The operations and comparisons of a transaction, in the gateway's JSON.
nlohmann::json put_op(const std::string& key, const std::string& value, std::int64_t lease);
// A put that keeps the key's lease (a stop note on a key that still expires with its writer).
nlohmann::json put_keeping_lease_op(const std::string& key, const std::string& value);
nlohmann::json delete_op(const std::string& key);
nlohmann::json range_op(const std::string& key);
nlohmann::json exists(const std::string& key);                              // version > 0
nlohmann::json created_at(const std::string& key, std::uint64_t revision);  // 0: does not exist
nlohmann::json modified_at(const std::string& key, std::uint64_t revision);
nlohmann::json value_is(const std::string& key, const std::string& value);

class Kv {
public:
    explicit Kv(Gateway& gw) : gw_(gw) {}

    // Keys in [key, end) in order, at most `limit`, at `revision` (0: the
    // newest). Throws muster::sdk::Error; a revision compacted away fails
    // with UNAVAILABLE ("compacted" in the text): read again at the newest.
    Page range(const std::string& key, const std::string& end, std::int64_t limit, std::uint64_t revision,
               bool keys_only = false);
    // Every key starting with `prefix`, in order, in pages of 1,000 keys
    // all read at the revision of the first (a consistent answer of any
    // size), each handed to `each` as its page arrives until it returns
    // false. Returns that revision.
    //
    // etcd counts every key of a range for each page of it (the answer's
    // `count`), so paging a big range costs O(keys^2 / page). A range of
    // more than 16 pages is therefore read as narrower ranges, one per
    // byte that may come next, split again while still that big:
    // `alphabet` holds every byte (ascending) that can follow `prefix` in
    // a key worth reading; keys with any other byte are skipped.
    std::uint64_t scan(const std::string& prefix, std::string_view alphabet,
                       const std::function<bool(KeyValue&&)>& each);
    std::optional<KeyValue> get(const std::string& key);
    TxnResult txn(const nlohmann::json& compare, const nlohmann::json& success,
                  const nlohmann::json& failure = nlohmann::json::array());
    // The KeyValue a transaction's range operation (response `index`) read.
    static std::optional<KeyValue> ranged(const TxnResult& r, std::size_t index);

    // A lease of `ttl_s` seconds; its id.
    std::int64_t grant(std::int64_t ttl_s);
    // Renews `lease`; its remaining TTL, 0 when etcd no longer has it.
    std::int64_t keep_alive(std::int64_t lease);

    // The newest revision of the store (a read that touches no key), from
    // `at` when given (no failover).
    std::uint64_t revision(const std::string* at = nullptr);

private:
    Gateway& gw_;
};

}  // namespace etcd
