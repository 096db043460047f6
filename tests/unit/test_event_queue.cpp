// docs/security.md, item 4: an event stream holds a bounded number of
// events for a slow reader, then one resync event, and ends.
#include "agent/event_queue.hpp"

#include <catch2/catch.hpp>

using host::agent::EventQueue;

TEST_CASE("event queue: a reader that keeps up gets every frame, in order") {
    EventQueue q(4);
    for (int round = 0; round < 3; ++round) {
        CHECK(q.push("a"));
        CHECK(q.push("b"));
        auto a = q.pop(), b = q.pop();
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->text == "a");
        CHECK(b->text == "b");
        CHECK_FALSE(b->last);
        CHECK_FALSE(q.pop());
    }
}

TEST_CASE("event queue: a reader that falls behind gets one resync, then the stream ends") {
    EventQueue q(4);
    for (int i = 0; i < 4; ++i) CHECK(q.push("event " + std::to_string(i)));
    CHECK(q.push("one too many"));                                // overflows: what was missed is dropped
    for (int i = 0; i < 10000; ++i) CHECK_FALSE(q.push("more"));  // nothing is held any more
    auto f = q.pop();
    REQUIRE(f);
    CHECK(f->text == EventQueue::kResync);
    CHECK(f->last);
    CHECK_FALSE(q.pop());
}
