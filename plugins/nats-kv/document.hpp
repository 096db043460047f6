// The value stored under each key "<role>.<id>": a JSON document any NATS
// client can read (docs/plugins/nats-kv.md).
//
//   {"id": "...", "role": "querier", "address": "10.0.0.5:7001",
//    "metadata": {"zone": "a"}, "health": "passing",
//    "registered_at_ms": 1764200000000, "written_at_ms": 1764200012345}
//
// registered_at_ms and written_at_ms come from the writer's clock and are
// informational; liveness is judged by the entry's server timestamp.
#pragma once

#include <muster/cpp/instance.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace nats_kv {

std::string key_of(const std::string& role, const std::string& id);
std::string encode(const muster::sdk::Instance& in, std::int64_t written_at_ms);
// nullopt for a value that is not a muster document (another writer's key).
std::optional<muster::sdk::Instance> decode(const char* data, int len);

}  // namespace nats_kv
