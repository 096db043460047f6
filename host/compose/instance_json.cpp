#include "instance_json.hpp"

#include <muster/cpp/clock.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace host {

std::string rfc3339(std::int64_t ms) {
    if (ms <= 0) return {};
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

std::string state_of(const muster::sdk::Instance& i, std::int64_t now, std::int64_t ttl_ms) {
    if (i.stopped_at_ms != 0) return "stopped";
    return now - i.last_seen_ms > ttl_ms ? "stale" : "live";
}

nlohmann::json instance_json(const muster::sdk::Instance& i, const std::string& backend) {
    auto ts = [](std::int64_t ms) { return ms > 0 ? nlohmann::json(rfc3339(ms)) : nlohmann::json(nullptr); };
    return {{"id", i.id},
            {"role", i.role},
            {"address", i.address},
            {"metadata", i.metadata},
            {"registered_at", ts(i.registered_at_ms)},
            {"last_seen", ts(i.last_seen_ms)},
            {"stopped_at", ts(i.stopped_at_ms)},
            {"health", muster::sdk::health_name(i.health)},
            {"health_reason", health_reason(i)},
            {"backend", backend}};
}

std::string health_reason(const muster::sdk::Instance& i) {
    auto it = i.metadata.find(MUSTER_META_HEALTH_REASON);
    return it == i.metadata.end() ? "" : it->second;
}

std::string health_text(const muster::sdk::Instance& i) {
    std::string reason = health_reason(i);
    return muster::sdk::health_name(i.health) + (reason.empty() ? "" : " (" + reason + ")");
}

std::string own_metadata_text(const muster::sdk::Instance& i) {
    std::string out;
    for (const auto& [k, v] : i.metadata)
        if (k.rfind(MUSTER_META_RESERVED_PREFIX, 0) != 0) out += (out.empty() ? "" : ",") + k + "=" + v;
    return out;
}

const char* event_name(muster_event_type t) {
    switch (t) {
    case MUSTER_EVENT_ADDED: return "added";
    case MUSTER_EVENT_CHANGED: return "changed";
    case MUSTER_EVENT_REMOVED: return "removed";
    case MUSTER_EVENT_SYNCED: return "synced";
    case MUSTER_EVENT_ERROR: return "error";
    case MUSTER_EVENT_TERMINATED: return "terminated";
    }
    return "unknown";
}

}  // namespace host
