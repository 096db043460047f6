// C++ helpers for the muster ABI: the system's wall clock, in the unit
// every muster time uses (milliseconds since the Unix epoch). One
// definition for the SDK, the plugins that have no store clock and the core.
#pragma once

#include <chrono>
#include <cstdint>

namespace muster::sdk {

inline std::int64_t system_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace muster::sdk
