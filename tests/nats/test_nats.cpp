// nats-kv against a real nats-server started by scripts/nats-start.sh
// (MUSTER_TEST_NATS_URL, MUSTER_TEST_NATS_STOP/KILL/START). Exits 77 (ctest:
// skipped) when no server was started.
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>

#include "../support/required_environment.hpp"
#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

// The servers scripts/test.sh starts; without them the program exits 77.
static const test_support::RequiredEnvironment needs{{"MUSTER_TEST_NATS_URL"}};

namespace {

std::string fresh_bucket() {
    static int n = 0;
    return "t" + std::to_string(getpid()) + "_" + std::to_string(n++);
}

std::shared_ptr<BackendClient> backend(const std::string& bucket, std::int64_t ttl_ms = 3000,
                                       std::vector<std::pair<std::string, std::string>> extra = {}) {
    static PluginLoader loader;
    std::vector<std::pair<std::string, std::string>> opts{
        {"url", env("MUSTER_TEST_NATS_URL")}, {"bucket", bucket}, {"request_timeout", "1s"}};
    opts.insert(opts.end(), extra.begin(), extra.end());
    if (std::none_of(opts.begin(), opts.end(), [](const auto& o) { return o.first == "sweep"; }))
        opts.emplace_back("sweep", "200ms");
    return BackendClient::create(loader.load("nats-kv"), opts, ttl_ms);
}

std::size_t live(BackendClient& b, const std::string& role) {
    std::vector<muster::sdk::Instance> out;
    return b.list(&role, 0, out).ok() ? out.size() : 0;
}

// What a list shows, one line per instance: said when a count is wrong.
std::string listing(BackendClient& b, const std::string& role) {
    std::vector<muster::sdk::Instance> out;
    auto st = b.list(&role, 0, out);
    std::string text = st.ok() ? "" : "list failed\n";
    for (const auto& i : out) text += i.id + " " + i.address + " last_seen " + std::to_string(i.last_seen_ms) + "\n";
    return text;
}

RegistryOptions fast() { return quick_options(300ms, 3000ms, 200ms); }

}  // namespace

TEST_CASE("a server restart mid-run loses no registration and the watch resyncs", "[restart]") {
    for (const char* how : {"MUSTER_TEST_NATS_STOP", "MUSTER_TEST_NATS_KILL"}) {
        auto bucket = fresh_bucket();
        auto chain = std::make_shared<Chain>(std::vector<Link>{{backend(bucket), true}});
        Registry registry(chain, fast());
        std::vector<Registration> regs;
        for (int i = 0; i < 5; ++i)
            regs.push_back(
                registry.register_instance({"writer", "10.0.0.1:" + std::to_string(7000 + i), "", {}, {}, {}}));
        Events ev;
        auto sub = registry.watch(std::string("writer"), ev.cb());
        REQUIRE(ev.count(MUSTER_EVENT_ADDED) == 5);
        run_env_command(how);
        std::this_thread::sleep_for(500ms);
        CHECK(registry.resolve("writer")->instances.size() == 5);  // served from the cache meanwhile
        run_env_command("MUSTER_TEST_NATS_START");
        auto other = backend(bucket);
        Registry other_registry(std::make_shared<Chain>(std::vector<Link>{{other, true}}), fast());
        auto late = other_registry.register_instance({"writer", "10.0.0.2:7100", "", {}, {}, {}});
        CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, late.id()) == 1; }));
        CHECK(eventually([&] { return live(*other, "writer") == 6; }));
        std::this_thread::sleep_for(fast().ttl + 500ms);
        INFO(how << " listed:\n" << listing(*other, "writer"));
        CHECK(live(*other, "writer") == 6);          // heartbeats resumed: nothing expired
        CHECK(ev.count(MUSTER_EVENT_REMOVED) == 0);  // no live instance reported removed
    }
}

TEST_CASE("an instance that expires by the bucket's max age is reported removed and never listed", "[expiry]") {
    // No sweep during the test: the watch finds the expiry by the key's
    // due time alone, and a heartbeat keeps its instance off that list.
    auto b = backend(fresh_bucket(), 1000, {{"sweep", "10m"}});
    std::string role = "expiring";
    std::mutex mu;
    std::vector<BackendEvent> events;
    std::unique_ptr<BackendWatch> w;
    REQUIRE(b->watch(
                 &role,
                 [&](const BackendEvent& e) {
                     std::lock_guard lk(mu);
                     events.push_back(e);
                 },
                 w)
                .ok());
    muster::sdk::Instance in;
    in.id = new_instance_id();
    in.role = role;
    in.address = "10.0.0.1:1";
    REQUIRE(b->register_instance(in).ok());
    muster::sdk::Instance kept = in;
    kept.id = new_instance_id();
    kept.address = "10.0.0.1:2";
    REQUIRE(b->register_instance(kept).ok());
    std::atomic<bool> beating{true};
    std::thread heartbeats([&] {
        while (beating) {
            std::vector<muster_status> results;
            b->heartbeat({kept.id}, results);
            std::this_thread::sleep_for(300ms);
        }
    });
    auto t0 = std::chrono::steady_clock::now();
    auto removed = [&] {
        std::lock_guard lk(mu);
        for (auto& e : events)
            if (e.type == MUSTER_EVENT_REMOVED && e.instance && e.instance->id == in.id) return true;
        return false;
    };
    REQUIRE(eventually(removed, 5s));
    CHECK(std::chrono::steady_clock::now() - t0 < 1000ms + 1500ms);  // ttl + the server's own expiry tick
    std::this_thread::sleep_for(1500ms);
    beating = false;
    heartbeats.join();
    CHECK(live(*b, role) == 1);
    w.reset();  // no event after this
    for (auto& e : events) CHECK_FALSE((e.type == MUSTER_EVENT_REMOVED && e.instance && e.instance->id == kept.id));
}

TEST_CASE("an existing bucket whose settings conflict is refused naming both values") {
    auto bucket = fresh_bucket();
    backend(bucket, 3000).reset();
    try {
        backend(bucket, 5000);
        FAIL("a conflicting bucket was accepted");
    } catch (const muster::sdk::Error& e) {
        CHECK(e.status() == MUSTER_CONFLICT);
        std::string m = e.what();
        CHECK(m.find("3000ms") != std::string::npos);
        CHECK(m.find("5000ms") != std::string::npos);
    }
}

TEST_CASE("while no server answers, calls fail fast with unavailable") {
    auto b = backend(fresh_bucket());
    run_env_command("MUSTER_TEST_NATS_STOP");
    std::this_thread::sleep_for(300ms);
    muster::sdk::Instance in;
    in.id = new_instance_id();
    in.role = "down";
    in.address = "10.0.0.1:1";
    auto t0 = std::chrono::steady_clock::now();
    auto o = b->register_instance(in);
    CHECK(o.status == MUSTER_UNAVAILABLE);
    std::vector<muster_status> res;
    CHECK(b->heartbeat({in.id}, res).status != MUSTER_OK);
    std::vector<muster::sdk::Instance> out;
    CHECK(b->list(nullptr, 0, out).status == MUSTER_UNAVAILABLE);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    run_env_command("MUSTER_TEST_NATS_START");
    CHECK(eventually([&] { return b->register_instance(in).ok(); }));
}

TEST_CASE("an id's claim: another role is refused while the id lives, and may take it once it expired") {
    auto bucket = fresh_bucket();
    muster::sdk::Instance in;
    in.id = new_instance_id();
    in.role = "first";
    in.address = "10.0.0.1:1";
    {
        auto gone = backend(bucket, 1000);
        REQUIRE(gone->register_instance(in).ok());
    }  // its process ends without a deregistration: the key ages out, the claim stays
    auto other = backend(bucket, 1000);
    muster::sdk::Instance moved = in;
    moved.role = "second";
    CHECK(other->register_instance(moved).status == MUSTER_CONFLICT);
    CHECK(eventually([&] { return live(*other, "first") == 0; }, 5s));
    auto o = other->register_instance(moved);
    CHECK(o.ok());  // the claim was stale: "first" no longer has the id
    CHECK(live(*other, "second") == 1);
    // Deregistered, the id is free again for any role.
    REQUIRE(other->deregister(moved.id).ok());
    auto third = backend(bucket, 1000);
    CHECK(third->register_instance(in).ok());
}
