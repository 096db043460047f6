// The wall clock the core stamps snapshots and link states with.
#pragma once

#include <muster/cpp/clock.hpp>

#include <cstdint>

namespace muster::core {

// Milliseconds since the Unix epoch.
inline std::int64_t wall_ms() { return sdk::system_ms(); }

}  // namespace muster::core
