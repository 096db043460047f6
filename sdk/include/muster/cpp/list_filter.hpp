// C++ helpers for the muster ABI: which instances a list() returns, for a
// store that keeps stopped and stale rows and filters them itself (rules
// B4, B5: live ones only, unless the flags ask for more).
#pragma once

#include <muster/backend.h>
#include <muster/cpp/instance.hpp>

#include <cstdint>

namespace muster::sdk {

// Stopped: stopped_at set. Stale: not stopped, last seen more than ttl ago.
inline bool is_stale(const Instance& i, std::int64_t now_ms, std::int64_t ttl_ms) {
    return i.stopped_at_ms == 0 && now_ms - i.last_seen_ms > ttl_ms;
}

// True when a list() with `flags` returns `i` at `now_ms`.
inline bool listed(const Instance& i, std::uint32_t flags, std::int64_t now_ms, std::int64_t ttl_ms) {
    if (i.stopped_at_ms != 0) return (flags & MUSTER_LIST_INCLUDE_STOPPED) != 0;
    return !is_stale(i, now_ms, ttl_ms) || (flags & MUSTER_LIST_INCLUDE_STALE) != 0;
}

// True when reap(retain_ms) deletes `i`: stopped, or stale, for longer
// than retain_ms (rule B9).
inline bool reapable(const Instance& i, std::int64_t now_ms, std::int64_t ttl_ms, std::int64_t retain_ms) {
    return i.stopped_at_ms != 0 ? now_ms - i.stopped_at_ms > retain_ms : now_ms - i.last_seen_ms > ttl_ms + retain_ms;
}

}  // namespace muster::sdk
