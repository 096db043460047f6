// The drain mark an instance carries in its metadata: MUSTER_META_DRAIN
// while drained, MUSTER_META_DRAIN_AT when the mark last changed. The
// owner of an instance and any other process (`muster-host drain`) may
// change it; the later change wins, so the owner adopts a mark set from
// outside instead of writing over it (docs/routing.md, "Drain").
#pragma once

#include <muster/cpp/instance.hpp>

#include <cstdint>

namespace muster::core {

bool drained(const sdk::Instance& inst);
// When the mark last changed (0: never).
std::int64_t drain_changed_at(const sdk::Instance& inst);

// Drains `inst` (or ends its drain), stamped `now` or, if a clock behind
// another process's made that earlier, just after the last change, so the
// change always counts as the latest. False when it was so already.
bool set_drain(sdk::Instance& inst, bool on, std::int64_t now);

// Takes the mark of `seen` (the instance as a store lists it) into `mine`
// when it changed later than mine. True when `mine` changed.
bool adopt_drain(sdk::Instance& mine, const sdk::Instance& seen);

}  // namespace muster::core
