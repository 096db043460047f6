#include <muster/core/host_services.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

TEST_CASE("register, resolve from the cache, deregister on stop") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    Registry registry(chain, fast_options());
    auto reg = registry.register_instance({"querier", "127.0.0.1:7001", "", {{"zone", "a"}}, {}, {}});
    auto snap = registry.resolve("querier");
    REQUIRE(snap->instances.size() == 1);
    CHECK(snap->instances[0].id == reg.id());
    CHECK(snap->backend == "memory");
    CHECK_FALSE(snap->stale);
    CHECK(registry.resolve("writer")->instances.empty());
    reg.stop();
    CHECK(eventually([&] { return registry.resolve("querier")->instances.empty(); }));
}

TEST_CASE("heartbeats keep an instance alive past the ttl; the destructor deregisters") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    Registry registry(chain, fast_options());
    {
        auto reg = registry.register_instance({"writer", "127.0.0.1:7002", "", {}, {}, {}});
        std::this_thread::sleep_for(1500ms);
        CHECK(registry.resolve("writer")->instances.size() == 1);
    }
    CHECK(eventually([&] { return registry.resolve("writer")->instances.empty(); }, 500ms));
}

TEST_CASE("watch gives the current set, then added and removed events") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    Registry registry(chain, fast_options());
    auto first = registry.register_instance({"router", "127.0.0.1:7003", "", {}, {}, {}});
    Events ev;
    auto sub = registry.watch(std::string("router"), ev.cb());
    CHECK(ev.count(MUSTER_EVENT_ADDED) == 1);
    auto second = registry.register_instance({"router", "127.0.0.1:7004", "", {}, {}, {}});
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED) == 2; }));
    second.stop();
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_REMOVED) == 1; }));
    sub.cancel();
    first.stop();
    std::this_thread::sleep_for(100ms);
    CHECK(ev.count(MUSTER_EVENT_REMOVED) == 1);  // nothing after cancel
}

TEST_CASE("watch from a snapshot: the known set as the snapshot, no ADDED for it, then each change") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    Registry registry(chain, fast_options());
    auto first = registry.register_instance({"router", "127.0.0.1:7003", "", {}, {}, {}});
    Events ev;
    std::shared_ptr<const RoleSnapshot> start;
    auto sub = registry.watch(std::string("router"), ev.cb(), start);
    REQUIRE(start);
    REQUIRE(start->instances.size() == 1);
    CHECK(start->instances[0].id == first.id());
    CHECK(start == registry.resolve("router"));  // shared, not a copy
    auto second = registry.register_instance({"router", "127.0.0.1:7004", "", {}, {}, {}});
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED) == 1; }));
    CHECK(ev.count(MUSTER_EVENT_ADDED, first.id()) == 0);
    CHECK(ev.count(MUSTER_EVENT_ADDED, second.id()) == 1);
    first.stop();
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_REMOVED, first.id()) == 1; }));
    // A role nothing is known of yet starts from no snapshot or an empty one.
    std::shared_ptr<const RoleSnapshot> none;
    auto other = registry.watch(std::string("nobody"), ev.cb(), none);
    CHECK((!none || none->instances.empty()));
}

TEST_CASE("bad input is refused before anything is written") {
    auto backend = memory_backend();
    auto chain = std::make_shared<Chain>(std::vector<Link>{{backend, true}});
    Registry registry(chain, fast_options());
    auto refused = [&](InstanceSpec spec) {
        try {
            registry.register_instance(std::move(spec));
        } catch (const muster::sdk::Error& e) {
            return e.status() == MUSTER_INVALID_ARGUMENT;
        }
        return false;
    };
    CHECK(refused({"Bad Role", "127.0.0.1:1", "", {}, {}, {}}));
    CHECK(refused({"ok", "no-port", "", {}, {}, {}}));
    CHECK(refused({"ok", "127.0.0.1:1", "not-a-uuid", {}, {}, {}}));
    CHECK(refused({"ok", "127.0.0.1:1", "", {{"bad key", "v"}}, {}, {}}));
    CHECK(refused({"ok", "127.0.0.1:1", "", {{"k", "\xff"}}, {}, {}}));
    std::vector<muster::sdk::Instance> all;
    REQUIRE(backend->list(nullptr, MUSTER_LIST_INCLUDE_STOPPED | MUSTER_LIST_INCLUDE_STALE, all).ok());
    CHECK(all.empty());
    CHECK_THROWS_AS(registry.resolve("Bad Role"), muster::sdk::Error);
}

TEST_CASE("an uppercase id is normalised; a duplicate registration in one process is a conflict") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    Registry registry(chain, fast_options());
    auto reg = registry.register_instance({"q", "h:1", "3F2B8C1E-0D4A-4C55-9E1A-6B7F0C2D9E11", {}, {}, {}});
    CHECK(reg.id() == "3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11");
    CHECK_THROWS_AS(registry.register_instance({"q", "h:1", reg.id(), {}, {}, {}}), muster::sdk::Error);
}

TEST_CASE("an owned instance the store lost is registered again at the next heartbeat") {
    auto backend = memory_backend();
    auto chain = std::make_shared<Chain>(std::vector<Link>{{backend, true}});
    Registry registry(chain, fast_options());
    auto reg = registry.register_instance({"acceptor", "127.0.0.1:7005", "", {}, {}, {}});
    // Someone deregisters and reaps it behind our back.
    REQUIRE(backend->deregister(reg.id()).ok());
    std::uint64_t n = 0;
    REQUIRE(backend->reap(0, n).ok());
    CHECK(eventually([&] {
        std::vector<muster::sdk::Instance> all;
        backend->list(nullptr, 0, all);
        return all.size() == 1;
    }));
}

TEST_CASE("heartbeat_interval must be shorter than the ttl") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    RegistryOptions o = fast_options();
    o.heartbeat_interval = o.ttl;
    CHECK_THROWS_AS(Registry(chain, o), muster::sdk::Error);
}

TEST_CASE("a chain serves one registry at a time") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    {
        Registry first(chain, fast_options());
        try {
            Registry second(chain, fast_options());
            FAIL("a second registry adopted a chain that has one");
        } catch (const muster::sdk::Error& e) {
            CHECK(e.status() == MUSTER_CONFLICT);
        }
    }
    Registry next(chain, fast_options());  // the first is gone: the chain is free again
    CHECK(next.register_instance({"querier", "127.0.0.1:7001", "", {}, {}, {}}).stop().ok());
}

TEST_CASE("resolve is safe from many threads while the role changes") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    Registry registry(chain, fast_options());
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> reads{0}, torn{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t)
        readers.emplace_back([&] {
            // Catch2's assertions are not thread-safe: count, check after.
            while (!stop) {
                auto s = registry.resolve("querier");
                for (const auto& i : s->instances) torn += i.id.empty();
                ++reads;
            }
        });
    std::vector<Registration> regs;
    for (int i = 0; i < 20; ++i)
        regs.push_back(registry.register_instance({"querier", "h:" + std::to_string(7100 + i), "", {}, {}, {}}));
    regs.clear();
    CHECK(eventually([&] { return reads > 1000; }));  // the readers really ran alongside
    stop = true;
    for (auto& r : readers) r.join();
    CHECK(torn == 0);
}

TEST_CASE("secrets are masked in what the host logs") {
    HostServices::instance().add_secret("s3cr3t-token");
    CHECK(HostServices::instance().redact("auth failed for s3cr3t-token at host") == "auth failed for **** at host");
}

// docs/security.md, item 3: made-up role names cannot grow the caches or
// lock out a new role.
TEST_CASE("role caches are bounded: an unused cache makes room, empty ones first; held ones stay") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    auto options = fast_options();
    options.max_roles = 4;
    Registry registry(chain, options);
    auto mine = registry.register_instance({"mine", "127.0.0.1:7001", "", {}, {}, {}});
    auto other = registry.register_instance({"other", "127.0.0.1:7002", "", {}, {}, {}});
    mine.stop();  // "mine" is still cached, with no instance: empty
    Events ev;
    auto sub = registry.watch(std::string("watched"), ev.cb());
    auto picker = registry.picker("picked");
    for (int i = 0; i < 200; ++i) registry.resolve("made-up-" + std::to_string(i));
    CHECK(registry.cached().size() <= 5);  // 4 roles, and the every-role cache
    // What is held stays: a registration's role, a watched and a picked one.
    CHECK(registry.cached("other"));
    CHECK(registry.cached("watched"));
    CHECK(registry.cached("picked"));
    // A newly registered role is answerable at once.
    auto fresh = registry.register_instance({"fresh", "127.0.0.1:7003", "", {}, {}, {}});
    CHECK(registry.resolve("fresh")->instances.size() == 1);
    // With every cache held (other, fresh, watched, picked), a new role is
    // refused rather than growing the set, on every path.
    try {
        registry.resolve("one-more");
        FAIL("a fifth role was cached while four are held");
    } catch (const muster::sdk::Error& e) {
        CHECK(e.status() == MUSTER_UNAVAILABLE);
    }
    CHECK_THROWS_AS(registry.watch(std::string("one-more"), ev.cb()), muster::sdk::Error);
    CHECK_THROWS_AS(registry.picker("one-more"), muster::sdk::Error);
    sub.cancel();
    CHECK(registry.resolve("one-more")->instances.empty());  // room again once unheld
}

TEST_CASE("role caches nobody uses are dropped after role_idle") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    auto options = fast_options();
    options.role_idle = 300ms;
    Registry registry(chain, options);
    auto reg = registry.register_instance({"kept", "127.0.0.1:7001", "", {}, {}, {}});
    registry.resolve("asked-once");
    // Listing the caches (status) is not a use; cached(role) would be.
    auto has = [&](const std::string& role) {
        for (const auto& s : registry.cached())
            if (s->role == role) return true;
        return false;
    };
    CHECK(has("asked-once"));
    CHECK(eventually([&] { return !has("asked-once"); }, 5s));
    CHECK(has("kept"));
}

TEST_CASE("wake_after: once when the role's index passes, at once if it has, never after cancel") {
    auto chain = std::make_shared<Chain>(std::vector<Link>{{memory_backend(), true}});
    Registry registry(chain, fast_options());
    auto before = registry.resolve("waker")->index;
    std::atomic<int> woken{0}, at_once{0}, cancelled{0};
    auto wait = registry.wake_after("waker", before, [&] { woken++; });
    CHECK(woken == 0);
    auto first = registry.register_instance({"waker", "10.0.0.1:1", "", {}, {}, {}});
    REQUIRE(eventually([&] { return woken == 1; }));

    auto passed = registry.wake_after("waker", before, [&] { at_once++; });
    CHECK(at_once == 1);
    auto now = registry.resolve("waker")->index;
    auto withdrawn = registry.wake_after("waker", now, [&] { cancelled++; });
    withdrawn.cancel();
    auto second = registry.register_instance({"waker", "10.0.0.1:2", "", {}, {}, {}});
    REQUIRE(eventually([&] { return registry.resolve("waker")->index > now; }));
    CHECK(cancelled == 0);
    CHECK(woken == 1);  // once, though the index moved again
}
