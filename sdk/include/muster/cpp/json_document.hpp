// C++ helpers for the muster ABI: an instance as a JSON document, the form
// nats-kv stores and any language can read (docs/abi.md, "The instance as
// JSON"). Unlike the rest of the SDK this header needs nlohmann-json
// (Debian: nlohmann-json3-dev), and only the plugins that include it do.
//
//   {"id": "...", "role": "querier", "address": "10.0.0.5:7001",
//    "metadata": {"zone": "a"}, "health": "passing",
//    "registered_at_ms": 1764200000000, "written_at_ms": 1764200012345,
//    "last_seen_ms": ..., "stopped_at_ms": ...}     <- only when not 0
#pragma once

#include <muster/cpp/instance.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muster::sdk {

inline std::string encode_document(const Instance& in, std::int64_t written_at_ms) {
    nlohmann::json j{{"id", in.id},
                     {"role", in.role},
                     {"address", in.address},
                     {"metadata", in.metadata},
                     {"health", health_name(in.health)},
                     {"registered_at_ms", in.registered_at_ms},
                     {"written_at_ms", written_at_ms}};
    if (in.last_seen_ms != 0) j["last_seen_ms"] = in.last_seen_ms;
    if (in.stopped_at_ms != 0) j["stopped_at_ms"] = in.stopped_at_ms;
    return j.dump();
}

// nullopt for text that is not a muster document (another writer's value).
inline std::optional<Instance> decode_document(std::string_view text) {
    auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    try {
        Instance i;
        i.id = j.at("id").get<std::string>();
        i.role = j.at("role").get<std::string>();
        i.address = j.at("address").get<std::string>();
        i.metadata = j.value("metadata", std::map<std::string, std::string>{});
        auto health = parse_health(j.value("health", "passing"));
        if (!health) return std::nullopt;
        i.health = *health;
        i.registered_at_ms = j.value("registered_at_ms", std::int64_t{0});
        i.last_seen_ms = j.value("last_seen_ms", std::int64_t{0});
        i.stopped_at_ms = j.value("stopped_at_ms", std::int64_t{0});
        return i;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

}  // namespace muster::sdk
