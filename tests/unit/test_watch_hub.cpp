#include <muster/cpp/watch_hub.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <span>

using namespace muster::sdk;
using namespace std::chrono_literals;

namespace {

struct Log {
    std::mutex mu;
    std::vector<std::pair<muster_event_type, std::string>> events;
    std::map<std::string, Instance> removed;  // each REMOVED's instance, by id
    static void cb(void* user, const muster_watch_event* ev) {
        auto* self = static_cast<Log*>(user);
        std::lock_guard lk(self->mu);
        self->events.emplace_back(static_cast<muster_event_type>(ev->type), ev->instance ? ev->instance->id : "");
        if (ev->type == MUSTER_EVENT_REMOVED) self->removed[ev->instance->id] = muster::sdk::from_c(*ev->instance);
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

namespace {

// A store whose hub reads changes by id; it counts what each read cost.
struct FeedStore {
    std::mutex mu;
    std::map<std::string, Instance> rows;
    std::atomic<int> lists{0};
    std::atomic<std::size_t> fetched{0};
    std::atomic<std::int64_t> now{1000};
    std::atomic<bool> hold{false};  // a fetch waits while set: the hub is busy
    WatchHub::Lister lister() {
        return [this](RoleFilter role) {
            ++lists;
            std::lock_guard lk(mu);
            std::vector<Instance> out;
            for (auto& [id, i] : rows)
                if ((!role || i.role == *role) && i.stopped_at_ms == 0 && now - i.last_seen_ms <= 100) out.push_back(i);
            return out;
        };
    }
    WatchHub::Fetcher fetcher() {
        return [this](std::span<const std::string> ids) {
            while (hold) std::this_thread::sleep_for(1ms);
            fetched += ids.size();
            std::lock_guard lk(mu);
            std::vector<Instance> out;
            for (auto& id : ids)
                if (auto it = rows.find(id); it != rows.end()) out.push_back(it->second);
            return out;
        };
    }
    void put(Instance i) {
        i.last_seen_ms = now;
        std::lock_guard lk(mu);
        rows[i.id] = i;
    }
};

}  // namespace

TEST_CASE("with a fetcher, a change poked by id reads that instance only, never the role") {
    FeedStore store;
    for (int i = 0; i < 1000; ++i) store.put(inst("i" + std::to_string(i)));
    WatchHub hub(
        store.lister(), store.fetcher(), 10s, [&] { return store.now.load(); }, 0);
    Log log;
    auto w = hub.add("r", WatchSink(&Log::cb, &log));
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED));
    CHECK(store.lists == 1);
    Instance added = inst("new");
    store.put(added);
    hub.poke("r", "new");
    REQUIRE(log.wait(MUSTER_EVENT_ADDED, 1001));
    Instance changed = inst("i5");
    changed.address = "h:2";
    store.put(changed);
    hub.poke("r", "i5");
    REQUIRE(log.wait(MUSTER_EVENT_CHANGED));
    {
        std::lock_guard lk(store.mu);
        store.rows["i7"].stopped_at_ms = 1000;
        store.rows.erase("i8");
    }
    hub.poke("r", "i7");
    hub.poke("r", "i8");
    REQUIRE(log.wait(MUSTER_EVENT_REMOVED, 2));
    {
        // A stop as the store keeps it; a deleted row by its id and role,
        // all the hub keeps.
        std::lock_guard lk(log.mu);
        CHECK(log.removed["i7"].stopped_at_ms == 1000);
        CHECK(log.removed["i7"].address == "h:1");
        CHECK(log.removed["i8"].role == "r");
        CHECK(log.removed["i8"].stopped_at_ms == 0);
    }
    hub.poke("other-role", "i9");  // nobody watches it: nothing is read
    std::this_thread::sleep_for(50ms);
    CHECK(store.lists == 1);
    CHECK(store.fetched <= 4);
    w.reset();
}

TEST_CASE("with a fetcher, only the instances due to expire are read again, and a heartbeat keeps one") {
    FeedStore store;
    Instance a = inst("a"), b = inst("b");
    store.put(a);
    store.put(b);
    WatchHub hub(
        store.lister(), store.fetcher(), 10s, [&] { return store.now.load(); }, 100);
    Log log;
    auto w = hub.add("r", WatchSink(&Log::cb, &log));
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED));
    store.now = 1080;
    store.put(b);  // b heartbeats; a does not. Neither is poked: a heartbeat is not a change
    store.now = 1150;
    REQUIRE(log.wait(MUSTER_EVENT_REMOVED));
    std::this_thread::sleep_for(50ms);
    {
        std::lock_guard lk(log.mu);
        CHECK(log.events.back() == std::make_pair(MUSTER_EVENT_REMOVED, std::string("a")));
    }
    CHECK(log.count(MUSTER_EVENT_REMOVED) == 1);
    CHECK(store.lists == 1);
    CHECK(store.fetched == 2);
    w.reset();
}

TEST_CASE(
    "with a fetcher, a burst of changes past the bound becomes one re-list, and a new watch of a watched role "
    "lists it once, telling the first watch nothing it knew") {
    FeedStore store;
    store.put(inst("a"));
    WatchHub hub(
        store.lister(), store.fetcher(), 10s, [&] { return store.now.load(); }, 0);
    Log first;
    auto w1 = hub.add("r", WatchSink(&Log::cb, &first));
    REQUIRE(first.wait(MUSTER_EVENT_SYNCED));
    store.hold = true;
    store.put(inst("b"));
    hub.poke("r", "b");  // the hub is held in this fetch while the burst comes
    std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 20000; ++i) {
        std::string id = "b" + std::to_string(i);
        store.put(inst(id));
        hub.poke("r", id);
    }
    store.hold = false;
    REQUIRE(first.wait(MUSTER_EVENT_ADDED, 20002));
    CHECK(store.lists == 2);
    CHECK(store.fetched == 1);
    int lists = store.lists;
    Log second;
    auto w2 = hub.add("r", WatchSink(&Log::cb, &second));
    REQUIRE(second.wait(MUSTER_EVENT_SYNCED));
    CHECK(second.count(MUSTER_EVENT_ADDED) == 20002);
    CHECK(store.lists == lists + 1);  // the hub keeps digests, not instances, to show a new watch
    CHECK(first.count(MUSTER_EVENT_ADDED) == 20002);
    CHECK(first.count(MUSTER_EVENT_CHANGED) == 0);
    w1.reset();
    w2.reset();
}

TEST_CASE("with a fetcher, a role watched again after nobody watched it is listed afresh") {
    FeedStore store;
    store.put(inst("a"));
    WatchHub hub(
        store.lister(), store.fetcher(), 10s, [&] { return store.now.load(); }, 0);
    Log first;
    auto w = hub.add("r", WatchSink(&Log::cb, &first));
    REQUIRE(first.wait(MUSTER_EVENT_SYNCED));
    w.reset();
    {
        std::lock_guard lk(store.mu);
        store.rows.erase("a");
    }
    hub.poke("r", "a");  // nobody watches r: dropped
    Log second;
    w = hub.add("r", WatchSink(&Log::cb, &second));
    REQUIRE(second.wait(MUSTER_EVENT_SYNCED));
    CHECK(second.count(MUSTER_EVENT_ADDED) == 0);
    w.reset();
}

TEST_CASE("a store that fails and comes back without a word is listed again, and the watch resyncs") {
    FeedStore store;
    store.put(inst("a"));
    std::atomic<bool> down{false};
    auto list = store.lister();
    WatchHub hub(
        [&](RoleFilter role) {
            if (down) throw Error(MUSTER_UNAVAILABLE, "down");
            return list(role);
        },
        store.fetcher(), 10min, [&] { return store.now.load(); }, 0);
    Log log;
    auto w = hub.add("r", WatchSink(&Log::cb, &log));
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED));
    down = true;
    hub.poke();  // the feed lost track while the store was failing
    REQUIRE(log.wait(MUSTER_EVENT_ERROR));
    store.put(inst("b"));
    down = false;  // no poke: nothing tells the hub the store is back
    REQUIRE(log.wait(MUSTER_EVENT_SYNCED, 2));
    CHECK(log.count(MUSTER_EVENT_ADDED) == 2);
    w.reset();
}
