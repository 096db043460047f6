// C++ helpers for the muster ABI: an owning Instance and its conversions to
// and from the borrowed C struct.
#pragma once

#include <muster/instance.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace muster::sdk {

// An instance that owns its strings. Metadata is ordered so that equal
// content compares equal and serialises identically.
struct Instance {
    std::string id;
    std::string role;
    std::string address;
    std::map<std::string, std::string> metadata;
    muster_health health = MUSTER_HEALTH_PASSING;
    std::int64_t registered_at_ms = 0;
    std::int64_t last_seen_ms = 0;
    std::int64_t stopped_at_ms = 0;

    bool operator==(const Instance&) const = default;

    // What a watcher calls a change: everything but the timestamps, which
    // move with every heartbeat.
    bool same_content(const Instance& o) const {
        return role == o.role && address == o.address && metadata == o.metadata && health == o.health;
    }

    // A 64-bit digest (FNV-1a) of what same_content compares, for a watcher
    // that keeps the digest instead of the instance: equal content gives
    // equal digests; different content a different one but for a 2^-64
    // chance. Each field is length-prefixed, so no two contents run together.
    std::uint64_t content_digest() const {
        std::uint64_t h = 14695981039346656037ULL;
        auto mix = [&h](std::string_view s) {
            std::uint64_t n = s.size();
            for (int b = 0; b < 8; ++b) h = (h ^ ((n >> (8 * b)) & 0xff)) * 1099511628211ULL;
            for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
        };
        mix(role);
        mix(address);
        for (const auto& [k, v] : metadata) {
            mix(k);
            mix(v);
        }
        h = (h ^ static_cast<std::uint64_t>(health)) * 1099511628211ULL;
        return h;
    }
};

// What a watch reports REMOVED for an instance its store no longer has:
// the id and role it knew (backend.h allows the rest empty), and when it
// stopped if the store said so (0: it vanished).
inline Instance removed_only(const std::string& id, const std::string& role, std::int64_t stopped_at_ms = 0) {
    Instance i;
    i.id = id;
    i.role = role;
    i.stopped_at_ms = stopped_at_ms;
    return i;
}

// Copies a borrowed C instance. The caller has validated it (validate.hpp);
// only the fields that exist at the instance's struct_size are read.
inline Instance from_c(const muster_instance& c) {
    Instance i;
    i.id = c.id;
    i.role = c.role;
    i.address = c.address;
    for (std::size_t k = 0; k < c.metadata_count; ++k) i.metadata.emplace(c.metadata[k].key, c.metadata[k].value);
    i.health = static_cast<muster_health>(c.health);
    i.registered_at_ms = c.registered_at_ms;
    i.last_seen_ms = c.last_seen_ms;
    i.stopped_at_ms = c.stopped_at_ms;
    return i;
}

// A C view of an Instance. It borrows the Instance's strings: keep the
// Instance alive and unchanged while the view is in use.
class CView {
public:
    explicit CView(const Instance& i) { fill(i, kv_, c_); }
    CView(const CView&) = delete;
    CView& operator=(const CView&) = delete;
    const muster_instance* get() const { return &c_; }

    // Writes the C view of `i` into `out`, its metadata into `kv` (which
    // must then stay unchanged while `out` is in use), for views kept side
    // by side in an array.
    static void fill(const Instance& i, std::vector<muster_kv>& kv, muster_instance& out) {
        kv.clear();
        kv.reserve(i.metadata.size());
        for (const auto& [k, v] : i.metadata) kv.push_back({k.c_str(), v.c_str()});
        out = {};
        out.struct_size = sizeof(muster_instance);
        out.health = static_cast<std::uint32_t>(i.health);
        out.id = i.id.c_str();
        out.role = i.role.c_str();
        out.address = i.address.c_str();
        out.metadata = kv.data();
        out.metadata_count = kv.size();
        out.registered_at_ms = i.registered_at_ms;
        out.last_seen_ms = i.last_seen_ms;
        out.stopped_at_ms = i.stopped_at_ms;
    }

private:
    std::vector<muster_kv> kv_;
    muster_instance c_{};
};

inline const char* health_name(muster_health h) {
    switch (h) {
    case MUSTER_HEALTH_PASSING: return "passing";
    case MUSTER_HEALTH_WARNING: return "warning";
    case MUSTER_HEALTH_CRITICAL: return "critical";
    }
    return "unknown";
}

// The other way: "passing", "warning" or "critical"; nullopt for anything else.
inline std::optional<muster_health> parse_health(std::string_view name) {
    for (auto h : {MUSTER_HEALTH_PASSING, MUSTER_HEALTH_WARNING, MUSTER_HEALTH_CRITICAL})
        if (name == health_name(h)) return h;
    return std::nullopt;
}

}  // namespace muster::sdk
