// LinkRunner's deadline measures silence, not size: a call that keeps
// reporting progress (rows arriving) runs past its limit and completes; a
// silent one is given up on at its limit, as before.
#include <muster/core/call_progress.hpp>
#include <muster/core/link_runner.hpp>

#include "../support/eventually.hpp"

#include <catch2/catch.hpp>

#include <atomic>
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

TEST_CASE("link runner: a call its caller gave up on learns it at its next progress, and the next call runs") {
    LinkRunner runner("test");
    std::atomic<bool> told_to_stop{false};
    auto late = runner.start(
        [&] {
            std::this_thread::sleep_for(300ms);  // silent past the limit: abandoned
            for (int i = 0; i < 1000 && !told_to_stop; ++i) {
                told_to_stop = !muster::core::note_call_progress();
                std::this_thread::sleep_for(10ms);
            }
            return Outcome{};
        },
        50ms);
    CHECK(runner.finish(late).status == MUSTER_UNAVAILABLE);
    // The abandoned call stops at its first progress, long before its 1,000
    // rows (10 s), and frees the link: the next call answers.
    REQUIRE(test_support::eventually([&] { return told_to_stop.load(); }, 5s));
    auto next = runner.start([] { return Outcome{}; }, 5000ms);
    CHECK(runner.finish(next).ok());
}

TEST_CASE("link runner: a call left running by a destroyed runner is counted until it ends") {
    std::atomic<bool> release{false};
    {
        LinkRunner runner("test");
        auto hung = runner.start(
            [&] {
                while (!release) std::this_thread::sleep_for(5ms);  // silent past its limit
                return Outcome{};
            },
            20ms);
        CHECK(runner.finish(hung).status == MUSTER_UNAVAILABLE);
        CHECK(LinkRunner::abandoned() == 0);  // the runner still waits for it
    }
    CHECK(LinkRunner::abandoned() == 1);  // left to finish on its own: a process must not exit under it
    release = true;
    CHECK(test_support::eventually([] { return LinkRunner::abandoned() == 0; }, 5s));
}
