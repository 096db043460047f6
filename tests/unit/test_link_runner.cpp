// LinkRunner's deadline measures silence, not size: a call that keeps
// reporting progress (rows arriving) runs past its limit and completes; a
// silent one is given up on at its limit, as before.
#include <muster/core/call_progress.hpp>
#include <muster/core/link_runner.hpp>

#include <catch2/catch.hpp>

#include <thread>

using namespace std::chrono_literals;
using muster::core::LinkRunner;
using muster::core::Outcome;

TEST_CASE("link runner: a call that makes progress outlives its limit; a silent one does not") {
    LinkRunner runner("test");
    // Rows every 10 ms for 5 x the limit.
    auto busy = runner.start(
        [] {
            for (int i = 0; i < 25; ++i) {
                std::this_thread::sleep_for(10ms);
                muster::core::note_call_progress();
            }
            return Outcome{};
        },
        50ms);
    CHECK(runner.finish(busy).ok());

    auto silent = runner.start(
        [] {
            std::this_thread::sleep_for(300ms);
            return Outcome{};
        },
        50ms);
    auto o = runner.finish(silent);
    CHECK(o.status == MUSTER_UNAVAILABLE);
    CHECK_THAT(o.message, Catch::Contains("no answer within 50 ms"));
    CHECK(runner.stuck());  // silent past its limit: the chain opens the link's breaker

    // Progress noted outside a runner's thread changes nothing.
    muster::core::note_call_progress();
}
