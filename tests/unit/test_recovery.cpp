// The chain's promises when one link goes away and comes back, against two
// memory backends, the second of which the test takes down by creating its
// `down_while` file: what it missed is settled before it serves again, and
// what it lost while up is written to it again.
#include <muster/core/registry.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <set>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

namespace {

std::filesystem::path down_file(const char* link) {
    return std::filesystem::temp_directory_path() /
           ("muster-down-" + std::to_string(getpid()) + "-" + link + "-" + new_instance_id());
}

struct TwoLinks {
    std::filesystem::path down_a = down_file("a"), down_b = down_file("b");
    std::shared_ptr<BackendClient> a, b;
    std::shared_ptr<Chain> chain;

    // ttl_ms: the stores' liveness window.
    explicit TwoLinks(int threshold = 1, std::int64_t ttl_ms = 1000) {
        static PluginLoader loader;
        a = BackendClient::create(loader.load("memory"), {{"sweep", "50ms"}, {"down_while", down_a.string()}}, ttl_ms);
        b = BackendClient::create(loader.load("memory"), {{"sweep", "50ms"}, {"down_while", down_b.string()}}, ttl_ms);
        ChainOptions o;
        o.breaker = {threshold, 20ms, 100ms};
        o.probe_interval = 10ms;
        chain = std::make_shared<Chain>(std::vector<Link>{{a, true}, {b, true}}, o);
    }
    ~TwoLinks() {
        std::filesystem::remove(down_a);
        std::filesystem::remove(down_b);
    }
    static void take_down(const std::filesystem::path& f) { std::ofstream(f.string()) << "down\n"; }
    void take_b_down() { take_down(down_b); }
    void bring_b_back() { std::filesystem::remove(down_b); }
    std::string state(std::size_t link) const { return muster::core::Breaker::name(chain->status()[link].state); }
    std::string b_state() const { return state(1); }
    static std::set<std::string> live(BackendClient& backend) {
        std::vector<muster::sdk::Instance> got;
        std::set<std::string> ids;
        if (backend.list(nullptr, 0, got).ok())
            for (auto& i : got) ids.insert(i.id);
        return ids;
    }
};

RegistryOptions recovery_options() { return quick_options(100ms, 1000ms, 50ms); }

}  // namespace

TEST_CASE("a returning link gets what it missed before it serves: new registrations in, stopped ones out") {
    TwoLinks t;
    Registry registry(t.chain, recovery_options());
    auto kept = registry.register_instance({"writer", "10.0.0.1:1", "", {}, {}, {}});
    auto stopped = registry.register_instance({"writer", "10.0.0.1:2", "", {}, {}, {}});
    REQUIRE(TwoLinks::live(*t.b).size() == 2);

    t.take_b_down();
    REQUIRE(eventually([&] { return t.b_state() != "closed"; }));
    auto added = registry.register_instance({"writer", "10.0.0.1:3", "", {}, {}, {}});
    REQUIRE(stopped.stop().ok());  // taken by a; b remembers it
    CHECK(t.chain->status()[1].pending >= 1);

    t.bring_b_back();
    REQUIRE(eventually([&] { return t.b_state() == "closed"; }));
    // Closed means settled: no window in which b lists the stopped one.
    CHECK(TwoLinks::live(*t.b) == std::set<std::string>{kept.id(), added.id()});
    CHECK(t.chain->status()[1].pending == 0);
}

TEST_CASE("a write a link failed without opening its breaker is settled while the link is up") {
    TwoLinks t(1000);  // the breaker never opens in this test
    Registry registry(t.chain, recovery_options());
    auto before = registry.register_instance({"router", "10.0.0.2:1", "", {}, {}, {}});
    t.take_b_down();
    auto missed = registry.register_instance({"router", "10.0.0.2:2", "", {}, {}, {}});  // a takes it, b fails
    REQUIRE(before.stop().ok());
    REQUIRE(t.b_state() == "closed");
    t.bring_b_back();
    CHECK(eventually([&] { return TwoLinks::live(*t.b) == std::set<std::string>{missed.id()}; }, 3s));
}

TEST_CASE("an instance one link lost while up is written to that link again, not resurrected elsewhere") {
    TwoLinks t;
    Registry registry(t.chain, recovery_options());
    auto reg = registry.register_instance({"querier", "10.0.0.3:1", "", {}, {}, {}});
    auto gone = registry.register_instance({"querier", "10.0.0.3:2", "", {}, {}, {}});
    REQUIRE(gone.stop().ok());
    // b loses reg behind our back: its heartbeat there answers NOT_FOUND
    // while a still knows it.
    REQUIRE(t.b->deregister(reg.id()).ok());
    std::uint64_t n = 0;
    REQUIRE(t.b->reap(0, n).ok());
    CHECK(eventually([&] { return TwoLinks::live(*t.b) == std::set<std::string>{reg.id()}; }, 3s));
    CHECK(TwoLinks::live(*t.a) == std::set<std::string>{reg.id()});
}

TEST_CASE("a registration no link took is not written to the links when they return") {
    TwoLinks t;
    Registry registry(t.chain, recovery_options());
    TwoLinks::take_down(t.down_a);
    t.take_b_down();
    CHECK_THROWS(registry.register_instance({"writer", "10.0.0.4:2", "", {}, {}, {}}));
    CHECK(t.chain->status()[0].pending == 1);  // remembered, to be settled against what we own
    std::filesystem::remove(t.down_a);
    t.bring_b_back();
    REQUIRE(eventually([&] { return t.state(0) == "closed" && t.b_state() == "closed"; }));
    CHECK(TwoLinks::live(*t.a).empty());
    CHECK(TwoLinks::live(*t.b).empty());
}

TEST_CASE("a watch moving back to a returning link does not drop what another process has yet to write back there") {
    TwoLinks t(1, 60000);  // nobody heartbeats the other process's instance
    Registry registry(t.chain, recovery_options());
    TwoLinks::take_down(t.down_a);
    // Registered by another process while a is down: only b has it.
    muster::sdk::Instance other;
    other.id = new_instance_id();
    other.role = "querier";
    other.address = "10.0.0.5:1";
    REQUIRE(t.b->register_instance(other).ok());
    Events events;
    auto sub = registry.watch("querier", events.cb());
    REQUIRE(eventually([&] { return events.count(MUSTER_EVENT_ADDED) == 1; }));
    std::filesystem::remove(t.down_a);
    REQUIRE(eventually([&] { return t.state(0) == "closed"; }));
    // The watch moves back to a, which lacks it; b still lists it: held.
    REQUIRE(eventually([&] { return registry.resolve("querier")->held == 1; }, 3s));
    CHECK(registry.resolve("querier")->instances.size() == 1);
    // The other process writes it back to a: no longer held, and
    // subscribers never saw it go.
    REQUIRE(t.a->register_instance(other).ok());
    CHECK(eventually([&] { return registry.resolve("querier")->held == 0; }, 3s));
    CHECK(registry.resolve("querier")->instances.size() == 1);
    CHECK(events.count(MUSTER_EVENT_REMOVED) == 0);
}

TEST_CASE("a registration another link refused is not settled on the link that missed it") {
    TwoLinks t(1, 60000);
    Registry registry(t.chain, recovery_options());
    // Another process owns this id under another role, in both stores.
    muster::sdk::Instance theirs;
    theirs.id = new_instance_id();
    theirs.role = "acceptor";
    theirs.address = "10.0.0.6:1";
    REQUIRE(t.a->register_instance(theirs).ok());
    REQUIRE(t.b->register_instance(theirs).ok());
    TwoLinks::take_down(t.down_a);
    registry.resolve("acceptor");  // a read finds a down
    REQUIRE(eventually([&] { return t.state(0) != "closed"; }));
    CHECK_THROWS(registry.register_instance({"writer", "10.0.0.6:2", theirs.id, {}, {}, {}}));  // b: CONFLICT
    std::filesystem::remove(t.down_a);
    REQUIRE(eventually([&] { return t.state(0) == "closed"; }));
    CHECK(TwoLinks::live(*t.a) == std::set<std::string>{theirs.id});  // not deregistered by the settling
}
