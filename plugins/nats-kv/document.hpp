// The value stored under each key "<role>.<id>": the SDK's JSON document of
// an instance (muster/cpp/json_document.hpp), which any NATS client can
// read (docs/plugins/nats-kv.md). registered_at_ms and written_at_ms come
// from the writer's clock and are informational; liveness is judged by the
// entry's server timestamp.
#pragma once

#include <muster/cpp/instance.hpp>
#include <muster/cpp/json_document.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace nats_kv {

std::string key_of(const std::string& role, const std::string& id);
inline std::string encode(const muster::sdk::Instance& in, std::int64_t written_at_ms) {
    return muster::sdk::encode_document(in, written_at_ms);
}
// nullopt for a value that is not a muster document (another writer's key).
inline std::optional<muster::sdk::Instance> decode(const char* data, int len) {
    return muster::sdk::decode_document(std::string_view(data, static_cast<std::size_t>(len)));
}

}  // namespace nats_kv
