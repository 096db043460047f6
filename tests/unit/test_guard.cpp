// The mass-removal guard: a cache does not believe one answer that most of
// a role is gone at once while another backend still lists it.
#include <muster/core/registry.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

namespace {

std::vector<muster::sdk::Instance> instances(int n, const std::string& role = "svc") {
    std::vector<muster::sdk::Instance> out;
    for (int k = 0; k < n; ++k) {
        muster::sdk::Instance i;
        i.id = "00000000-0000-4000-8000-00000000000" + std::to_string(k);
        i.role = role;
        i.address = "10.0.0.1:" + std::to_string(7000 + k);
        out.push_back(i);
    }
    return out;
}

// Two memory backends in a chain, and a registry on them.
struct TwoMemory {
    std::shared_ptr<BackendClient> a, b;
    std::shared_ptr<Chain> chain;
    Registry registry;
    explicit TwoMemory(std::int64_t backend_ttl_ms, std::int64_t a_ttl_ms = 0)
            : a(create(a_ttl_ms ? a_ttl_ms : backend_ttl_ms)),
              b(create(backend_ttl_ms)),
              chain(std::make_shared<Chain>(std::vector<Link>{{a, true}, {b, true}})),
              registry(chain, quick_options(100ms, 1000ms, 50ms)) {}
    static std::shared_ptr<BackendClient> create(std::int64_t ttl_ms) {
        static PluginLoader loader;
        return BackendClient::create(loader.load("memory"), {{"sweep", "50ms"}}, ttl_ms);
    }
};

std::set<std::string> ids(const RoleCache& c) {
    std::set<std::string> s;
    auto snapshot = c.load();
    for (auto& i : snapshot->instances) s.insert(i.id);
    return s;
}

}  // namespace

TEST_CASE("one answer that most of a role is gone is held, then settled by what the backends list") {
    RoleCache cache("svc");
    Events events;
    cache.publish(instances(4), "a", 1000);
    cache.subscribe(events.cb());
    cache.publish({}, "a", 1001);
    CHECK(cache.load()->instances.size() == 4);  // nothing removed on that word alone
    CHECK(cache.load()->held == 4);
    CHECK(events.count(MUSTER_EVENT_REMOVED) == 0);
    auto all = instances(4);
    cache.verify_held({all[0].id, all[1].id});  // another backend still lists two
    CHECK(ids(cache) == std::set<std::string>{all[0].id, all[1].id});
    CHECK(events.count(MUSTER_EVENT_REMOVED) == 2);
    cache.verify_held({});
    CHECK(cache.load()->instances.empty());
    CHECK(cache.load()->held == 0);
}

TEST_CASE("a removal the store explains goes at once; one it does not is held") {
    RoleCache cache("svc");
    Events events;
    auto all = instances(3);
    cache.publish(all, "a", 1000);
    cache.subscribe(events.cb());
    cache.note_stopped(all[0].id, 1001);  // this process stopped it
    cache.publish({all[1], all[2]}, "a", 1002);
    CHECK(events.count(MUSTER_EVENT_REMOVED, all[0].id) == 1);
    CHECK(cache.load()->held == 0);
    cache.publish({all[2]}, "a", 1003);  // all[1] just vanished
    CHECK(events.count(MUSTER_EVENT_REMOVED, all[1].id) == 0);
    CHECK(cache.load()->held == 1);
    CHECK(ids(cache).count(all[1].id) == 1);
}

TEST_CASE("a watch's REMOVED with stopped_at is a stop; without it, a disappearance") {
    RoleCache cache("svc");
    Events events;
    auto all = instances(2);
    for (auto& i : all) cache.apply({MUSTER_EVENT_ADDED, i, MUSTER_OK, ""}, "a", 1000);
    cache.apply({MUSTER_EVENT_SYNCED, std::nullopt, MUSTER_OK, ""}, "a", 1000);
    cache.subscribe(events.cb());
    auto stopped = all[0];
    stopped.stopped_at_ms = 1001;
    cache.apply({MUSTER_EVENT_REMOVED, stopped, MUSTER_OK, ""}, "a", 1001);
    CHECK(events.count(MUSTER_EVENT_REMOVED, all[0].id) == 1);
    cache.apply({MUSTER_EVENT_REMOVED, all[1], MUSTER_OK, ""}, "a", 1002);  // expired
    CHECK(events.count(MUSTER_EVENT_REMOVED, all[1].id) == 0);
    CHECK(cache.load()->held == 1);
}

TEST_CASE("a lone instance that vanishes and comes back: no removal and re-add") {
    RoleCache cache("svc");
    Events events;
    auto one = instances(1);
    cache.publish(one, "a", 1000);
    cache.subscribe(events.cb());
    cache.publish({}, "a", 1001);   // expired in the store that answers
    cache.publish(one, "a", 1002);  // written back by its owner
    CHECK(events.count(MUSTER_EVENT_REMOVED) == 0);
    CHECK(events.count(MUSTER_EVENT_ADDED) == 1);  // the one of subscribe()
    CHECK(cache.load()->held == 0);
}

TEST_CASE("this process's own stops in the every-role cache are not held, role by role") {
    RoleCache cache(std::nullopt);
    std::vector<muster::sdk::Instance> mine;
    for (const char* role : {"acceptor", "writer", "router", "querier"}) mine.push_back(instances(1, role)[0]);
    for (std::size_t k = 0; k < mine.size(); ++k) mine[k].id.back() = static_cast<char>('a' + k);
    cache.publish(mine, "a", 1000);
    for (auto& i : mine) cache.note_stopped(i.id, 1001);
    cache.publish({}, "a", 1002);
    CHECK(cache.load()->instances.empty());
    CHECK(cache.load()->held == 0);
}

TEST_CASE("an instance listed again is no longer held, and subscribers saw nothing") {
    RoleCache cache("svc");
    Events events;
    cache.publish(instances(3), "a", 1000);
    cache.subscribe(events.cb());
    cache.publish({}, "a", 1001);
    cache.publish(instances(3), "b", 1002);
    CHECK(cache.load()->held == 0);
    CHECK(cache.load()->instances.size() == 3);
    CHECK(events.count(MUSTER_EVENT_REMOVED) == 0);
    CHECK(events.count(MUSTER_EVENT_ADDED) == 3);  // the three of subscribe()
}

TEST_CASE("guard_fraction 1 turns the guard off") {
    RoleCache cache("svc", {1.0, 10000});
    cache.publish(instances(5), "a", 1000);
    cache.publish({}, "a", 1001);
    CHECK(cache.load()->instances.empty());
}

TEST_CASE("own stops count as explained only for the window") {
    RoleCache cache("svc", {0.5, 100});
    auto one = instances(2);
    cache.publish(one, "a", 1000);
    cache.note_stopped(one[0].id, 1000);
    cache.publish({one[1]}, "a", 1500);  // long after: not ours any more
    CHECK(cache.load()->held == 1);
}

TEST_CASE("a backend that loses a role while another still lists it does not empty the cache") {
    // Nobody heartbeats these: in a (ttl 1 s) they expire, in b (60 s) they stay.
    TwoMemory t(60000, 1000);
    auto &a = t.a, &b = t.b;
    auto& registry = t.registry;
    // Registered by another process (not owned here, so not written back).
    auto all = instances(4, "router");
    for (auto& i : all) {
        REQUIRE(a->register_instance(i).ok());
        REQUIRE(b->register_instance(i).ok());
    }
    REQUIRE(registry.resolve("router")->instances.size() == 4);
    // a's watch reports them vanished (no stop): held, not removed.
    REQUIRE(eventually([&] { return registry.resolve("router")->held > 0; }, 5s));
    std::this_thread::sleep_for(300ms);  // several verification rounds: b still lists them
    auto snap = registry.resolve("router");
    CHECK(snap->instances.size() == 4);
    CHECK(snap->held == 4);
    for (auto& i : all) REQUIRE(b->deregister(i.id).ok());  // now every backend agrees
    CHECK(eventually([&] { return registry.resolve("router")->instances.empty(); }, 3s));
}

TEST_CASE("a genuine mass stop empties the cache promptly") {
    TwoMemory t(1000);
    auto& registry = t.registry;
    std::vector<Registration> regs;
    for (int k = 0; k < 6; ++k) regs.push_back(registry.register_instance({"acceptor", "10.0.0.2:1", "", {}, {}, {}}));
    REQUIRE(registry.resolve("acceptor")->instances.size() == 6);
    regs.clear();  // every one deregisters
    CHECK(eventually([&] { return registry.resolve("acceptor")->instances.empty(); }, 2s));
}
