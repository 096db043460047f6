#include <muster/cpp/watch_hub.hpp>

#include <catch2/catch.hpp>

#include <atomic>

using namespace muster::sdk;
using namespace std::chrono_literals;

namespace {

struct Log {
    std::mutex mu;
    std::vector<std::pair<muster_event_type, std::string>> events;
    static void cb(void* user, const muster_watch_event* ev) {
        auto* self = static_cast<Log*>(user);
        std::lock_guard lk(self->mu);
        self->events.emplace_back(static_cast<muster_event_type>(ev->type), ev->instance ? ev->instance->id : "");
    }
    std::size_t count(muster_event_type t) {
        std::lock_guard lk(mu);
        std::size_t n = 0;
        for (auto& e : events) n += e.first == t;
        return n;
    }
    bool wait(muster_event_type t, std::size_t n = 1) {
        for (int i = 0; i < 300; ++i) {
            if (count(t) >= n) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
};

Instance inst(const std::string& id) {
    Instance i;
    i.id = id;
    i.role = "r";
    i.address = "h:1";
    return i;
}

}  // namespace

TEST_CASE("the hub sends the initial state and the changes, and nothing once the watch is destroyed") {
    std::mutex mu;
    std::vector<Instance> store{inst("a")};
    WatchHub hub(
        [&](RoleFilter) {
            std::lock_guard lk(mu);
            return store;
        },
        5s, nullptr, 0);
    Log log;
    auto w = hub.add("r", WatchSink(&Log::cb, &log));
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED));
    CHECK(log.count(MUSTER_EVENT_ADDED) == 1);
    {
        std::lock_guard lk(mu);
        store.push_back(inst("b"));
    }
    hub.poke();
    REQUIRE(log.wait(MUSTER_EVENT_ADDED, 2));
    w.reset();  // ends the watch (the SDK's unwatch then sends TERMINATED)
    std::size_t seen = log.events.size();
    {
        std::lock_guard lk(mu);
        store.push_back(inst("c"));
    }
    hub.poke();
    std::this_thread::sleep_for(50ms);
    CHECK(log.events.size() == seen);
    CHECK(log.count(MUSTER_EVENT_TERMINATED) == 0);
}

TEST_CASE("a failing store gives one ERROR, then a resync of exactly the differences") {
    std::mutex mu;
    bool failing = false;
    std::vector<Instance> store{inst("a"), inst("b")};
    WatchHub hub(
        [&](RoleFilter) {
            std::lock_guard lk(mu);
            if (failing) throw Error(MUSTER_UNAVAILABLE, "down");
            return store;
        },
        5s, nullptr, 0);
    Log log;
    auto w = hub.add(std::nullopt, WatchSink(&Log::cb, &log));
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED));
    {
        std::lock_guard lk(mu);
        failing = true;
    }
    hub.poke();
    REQUIRE(log.wait(MUSTER_EVENT_ERROR));
    hub.poke();  // still failing: no second ERROR
    std::this_thread::sleep_for(50ms);
    CHECK(log.count(MUSTER_EVENT_ERROR) == 1);
    {
        std::lock_guard lk(mu);
        failing = false;
        store = {inst("a"), inst("c")};  // b went away, c came, a stayed
    }
    hub.poke();
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED, 2));
    CHECK(log.count(MUSTER_EVENT_REMOVED) == 1);
    CHECK(log.count(MUSTER_EVENT_ADDED) == 3);  // a, b initially; c on resync; a never re-added
    w.reset();
}

TEST_CASE("the hub wakes for the earliest expiry without being poked") {
    std::atomic<std::int64_t> now{1000};
    std::vector<Instance> store{inst("a")};
    store[0].last_seen_ms = 1000;
    WatchHub hub(
        [&](RoleFilter) {
            std::vector<Instance> live;
            for (auto& i : store)
                if (now - i.last_seen_ms <= 100) live.push_back(i);
            return live;
        },
        10s, [&] { return now.load(); }, 100);
    Log log;
    auto w = hub.add(std::nullopt, WatchSink(&Log::cb, &log));
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED));
    now = 1200;  // the hub's next wake is at last_seen + ttl, long before its 10 s sweep
    REQUIRE(log.wait(MUSTER_EVENT_REMOVED));
    w.reset();
}
