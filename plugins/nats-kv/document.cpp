#include "document.hpp"

#include <nlohmann/json.hpp>

namespace nats_kv {

std::string key_of(const std::string& role, const std::string& id) { return role + "." + id; }

std::string encode(const muster::sdk::Instance& in, std::int64_t written_at_ms) {
    return nlohmann::json{{"id", in.id},
                          {"role", in.role},
                          {"address", in.address},
                          {"metadata", in.metadata},
                          {"health", muster::sdk::health_name(in.health)},
                          {"registered_at_ms", in.registered_at_ms},
                          {"written_at_ms", written_at_ms}}
        .dump();
}

std::optional<muster::sdk::Instance> decode(const char* data, int len) {
    auto j = nlohmann::json::parse(data, data + len, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    try {
        muster::sdk::Instance i;
        i.id = j.at("id").get<std::string>();
        i.role = j.at("role").get<std::string>();
        i.address = j.at("address").get<std::string>();
        i.metadata = j.value("metadata", std::map<std::string, std::string>{});
        std::string h = j.value("health", "passing");
        i.health = h == "warning" ? MUSTER_HEALTH_WARNING : h == "critical" ? MUSTER_HEALTH_CRITICAL : MUSTER_HEALTH_PASSING;
        i.registered_at_ms = j.value("registered_at_ms", std::int64_t{0});
        return i;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

}  // namespace nats_kv
