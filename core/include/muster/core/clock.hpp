// The wall clock the core stamps snapshots and link states with.
#pragma once

#include <chrono>
#include <cstdint>

namespace muster::core {

// Milliseconds since the Unix epoch.
inline std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace muster::core
