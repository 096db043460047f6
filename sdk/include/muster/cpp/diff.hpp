// C++ helpers for the muster ABI: the difference between two snapshots of a
// role, as watch events. Watches that resync (after a reconnect, a
// failover, a poll) emit exactly these differences, never a removal and
// re-add of an instance that stayed.
#pragma once

#include <muster/backend.h>
#include <muster/cpp/instance.hpp>

#include <map>
#include <string>

namespace muster::sdk {

// Live instances keyed by id.
using Snapshot = std::map<std::string, Instance>;

// Calls emit(type, instance) for every difference from `before` to `after`:
// REMOVED (with the instance as last known) first, then ADDED and CHANGED in
// id order. Timestamp-only changes (heartbeats) are not events.
template <class Emit>
void diff(const Snapshot& before, const Snapshot& after, Emit&& emit) {
    for (const auto& [id, old] : before)
        if (!after.count(id)) emit(MUSTER_EVENT_REMOVED, old);
    for (const auto& [id, now] : after) {
        auto it = before.find(id);
        if (it == before.end())
            emit(MUSTER_EVENT_ADDED, now);
        else if (!it->second.same_content(now))
            emit(MUSTER_EVENT_CHANGED, now);
    }
}

}  // namespace muster::sdk
