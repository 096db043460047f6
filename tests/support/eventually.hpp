// Waiting for a condition in a test, with no muster header: the tests of
// the public client API use it as much as those of the core.
#pragma once

#include <chrono>
#include <thread>

namespace test_support {

// Polls `f` every few milliseconds until it is true or `limit` passes.
template <class F>
bool eventually(F f, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (f()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return f();
}

}  // namespace test_support
