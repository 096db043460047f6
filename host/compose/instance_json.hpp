// How instances and events are shown to people and programs alike (the
// CLI's --json and tables, the agent's HTTP API): RFC 3339 UTC timestamps,
// states, health text, one JSON object per instance.
#pragma once

#include <muster/core/role_cache.hpp>
#include <muster/cpp/instance.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace host {

// "2026-11-27T02:43:34.123Z"; empty for 0.
std::string rfc3339(std::int64_t ms);
// live, stale or stopped, judged at `now` with `ttl_ms`.
std::string state_of(const muster::sdk::Instance& i, std::int64_t now, std::int64_t ttl_ms);
nlohmann::json instance_json(const muster::sdk::Instance& i, const std::string& backend);
// Why the instance's health is what it is (MUSTER_META_HEALTH_REASON), or "".
std::string health_reason(const muster::sdk::Instance& i);
// "critical (api: HTTP 503)", or "passing".
std::string health_text(const muster::sdk::Instance& i);
// The application's own metadata, k=v,k=v (muster's reserved keys left out).
std::string own_metadata_text(const muster::sdk::Instance& i);
const char* event_name(muster_event_type t);

}  // namespace host
