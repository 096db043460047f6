// Client-side routing: each policy's distribution, health eligibility and
// the panic threshold, drain, outlier ejection and re-admission under the
// share limit, Maglev's stickiness, and locality spillover.
#include <muster/core/drain_mark.hpp>
#include <muster/core/registry.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <unistd.h>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

namespace {

struct Fixture {
    PluginLoader loader;
    Registry registry{std::make_shared<Chain>(std::vector<Link>{
                          {BackendClient::create(loader.load("memory"), {{"sweep", "100ms"}}, 1000), true}}),
                      quick_options(200ms, 1000ms, 100ms)};
    std::vector<Registration> regs;

    // n instances of `role`; metadata per instance from `meta(i)`.
    void add(
        const std::string& role, int n, const std::function<std::map<std::string, std::string>(int)>& meta = [](int) {
            return std::map<std::string, std::string>{};
        }) {
        for (int i = 0; i < n; ++i)
            regs.push_back(registry.register_instance(
                {role, "10.0.0." + std::to_string(regs.size() + 1) + ":80", "", meta(i), {}, {}}));
    }
    void settle(const std::string& role, std::size_t n) {
        REQUIRE(eventually([&] { return registry.resolve(role)->instances.size() == n; }));
    }
};

PickerOptions opts(PickPolicy policy, double panic = 0.5) {
    PickerOptions o;
    o.policy = policy;
    o.panic_threshold = panic;
    return o;
}

PickerOptions with_outlier(PickPolicy policy, OutlierOptions outlier) {
    PickerOptions o = opts(policy);
    o.outlier = outlier;
    return o;
}

std::map<std::string, int> histogram(Picker& p, int picks, std::string_view key = {}) {
    std::map<std::string, int> h;
    for (int i = 0; i < picks; ++i) {
        auto c = p.pick(key);
        REQUIRE(c);
        h[c.instance().address]++;
    }
    return h;
}

}  // namespace

TEST_CASE("picker: round robin, random and least_outstanding spread evenly") {
    Fixture f;
    f.add("web", 4);
    f.settle("web", 4);
    auto rr = histogram(*f.registry.picker("web", opts(PickPolicy::round_robin)), 4000);
    REQUIRE(rr.size() == 4);
    for (const auto& [a, n] : rr) CHECK(n == 1000);  // exactly even
    for (auto policy : {PickPolicy::random, PickPolicy::least_outstanding}) {
        auto h = histogram(*f.registry.picker("web", opts(policy)), 40000);
        REQUIRE(h.size() == 4);
        for (const auto& [a, n] : h) CHECK(std::abs(n - 10000) < 600);  // > 6 standard deviations
    }
}

TEST_CASE("picker: least_outstanding avoids the instance with calls in flight") {
    Fixture f;
    f.add("web", 2);
    f.settle("web", 2);
    auto p = f.registry.picker("web", opts(PickPolicy::least_outstanding));
    std::vector<Call> held;
    auto first = p->pick();
    std::string busy = first.instance().address;
    for (int i = 0; i < 10; ++i) {  // pile calls onto the busy one
        auto c = p->pick();
        if (c.instance().address == busy) held.push_back(std::move(c));
    }
    held.push_back(std::move(first));
    int to_busy = 0;
    for (int i = 0; i < 200; ++i) to_busy += p->pick().instance().address == busy;
    CHECK(to_busy == 0);  // two choices of two: always the idle one
}

TEST_CASE("picker: weighted follows metadata weight") {
    Fixture f;
    f.add("web", 3, [](int i) { return std::map<std::string, std::string>{{"weight", std::to_string(i + 1)}}; });
    f.settle("web", 3);
    auto h = histogram(*f.registry.picker("web", opts(PickPolicy::weighted)), 60000);
    std::vector<int> counts;
    for (const auto& [a, n] : h) counts.push_back(n);  // addresses sort as registered
    REQUIRE(counts.size() == 3);
    CHECK(std::abs(counts[0] - 10000) < 600);
    CHECK(std::abs(counts[1] - 20000) < 800);
    CHECK(std::abs(counts[2] - 30000) < 800);
}

TEST_CASE("picker: maglev keeps a key on one instance, and moves about 1/N of the keys when one of N leaves") {
    Fixture f;
    f.add("cache", 10);
    f.settle("cache", 10);
    auto p = f.registry.picker("cache", opts(PickPolicy::maglev));
    std::map<std::string, std::string> before;
    for (int k = 0; k < 5000; ++k) {
        std::string key = "user-" + std::to_string(k);
        before[key] = p->pick(key).instance().address;
        CHECK(p->pick(key).instance().address == before[key]);
    }
    std::string leaving_address = "10.0.0.4:80";
    f.regs[3].stop();
    f.settle("cache", 9);
    int moved = 0, moved_elsewhere = 0;
    for (const auto& [key, addr] : before) {
        std::string now = p->pick(key).instance().address;
        if (now != addr) {
            ++moved;
            if (addr != leaving_address) ++moved_elsewhere;
        }
    }
    // Maglev moves the leaving instance's keys and a few more (its table is
    // refilled; the paper's "minimal disruption"): about 1/N in all.
    CHECK(moved > 5000 / 10 * 7 / 10);
    CHECK(moved < 5000 / 10 * 14 / 10);
    CHECK(moved_elsewhere < 5000 / 20);
}

TEST_CASE("picker: passing first, warning only when none passes, critical never; panic below the threshold") {
    Fixture f;
    f.add("svc", 4);
    f.settle("svc", 4);
    f.regs[0].set_health(MUSTER_HEALTH_WARNING);
    f.regs[1].set_health(MUSTER_HEALTH_CRITICAL);
    REQUIRE(eventually([&] {
        int bad = 0;
        auto snapshot = f.registry.resolve("svc");
        for (const auto& i : snapshot->instances) bad += i.health != MUSTER_HEALTH_PASSING;
        return bad == 2;
    }));
    auto p = f.registry.picker("svc", opts(PickPolicy::random, 0.5));
    auto h = histogram(*p, 2000);
    CHECK(h.size() == 2);  // the two passing ones (2 of 4 = at the threshold)
    CHECK(h.count("10.0.0.1:80") == 0);
    CHECK(h.count("10.0.0.2:80") == 0);
    f.regs[2].set_health(MUSTER_HEALTH_CRITICAL);  // 1 of 4 passing: below 0.5, panic
    REQUIRE(eventually([&] { return histogram(*p, 400).size() == 4; }));
    auto strict = f.registry.picker("svc", opts(PickPolicy::random, 0.0));
    auto hs = histogram(*strict, 1000);
    CHECK(hs.size() == 1);                         // no panic: the one passing instance
    f.regs[3].set_health(MUSTER_HEALTH_CRITICAL);  // none passing: the warning one
    REQUIRE(eventually([&] {
        auto x = histogram(*strict, 200);
        return x.size() == 1 && x.count("10.0.0.1:80") == 1;
    }));
}

TEST_CASE("picker: a drained instance is never picked, and is again once the drain ends") {
    Fixture f;
    f.add("svc", 3);
    f.settle("svc", 3);
    auto p = f.registry.picker("svc", opts(PickPolicy::round_robin));
    CHECK(f.regs[1].drain().ok());
    REQUIRE(eventually([&] { return histogram(*p, 30).count("10.0.0.2:80") == 0; }));
    CHECK(f.registry.resolve("svc")->instances.size() == 3);  // still listed
    CHECK(histogram(*p, 3000).count("10.0.0.2:80") == 0);
    CHECK(f.regs[1].drain(false).ok());
    REQUIRE(eventually([&] { return histogram(*p, 30).count("10.0.0.2:80") > 0; }));
}

TEST_CASE("picker: consecutive failures eject an instance; it is re-admitted after a successful trial") {
    Fixture f;
    f.add("svc", 10);
    f.settle("svc", 10);
    OutlierOptions o;
    o.consecutive_failures = 3;
    o.base_ejection = 300ms;
    auto p = f.registry.picker("svc", with_outlier(PickPolicy::round_robin, o));
    const std::string bad = "10.0.0.5:80";
    int picks_of_bad = 0;
    for (int i = 0; i < 100; ++i) {
        auto c = p->pick();
        if (c.instance().address == bad) {
            ++picks_of_bad;
            c.failure();
        } else {
            c.success();
        }
    }
    CHECK(picks_of_bad == 3);  // ejected on its third failure
    CHECK(p->ejected() == 1);
    for (const auto& st : p->stats())
        if (st.address == bad) {
            CHECK(st.ejected);
            CHECK(st.ejections == 1);
            CHECK(st.failures == 3);
        }
    CHECK(histogram(*p, 200).count(bad) == 0);
    std::this_thread::sleep_for(350ms);
    bool tried = false;
    for (int i = 0; i < 20 && !tried; ++i) {
        auto c = p->pick();
        if (c.instance().address == bad) {
            tried = true;
            c.success();  // the trial call works: re-admitted
        }
    }
    CHECK(tried);
    CHECK(p->ejected() == 0);
    CHECK(histogram(*p, 100)[bad] == 10);
    auto c = p->pick();
    std::string addr = c.instance().address;
    c.success(std::chrono::milliseconds(8));
    for (const auto& st : p->stats())
        if (st.address == addr) CHECK(st.latency_ms == Approx(8.0));
}

TEST_CASE("picker: a failed trial ejects again, for longer; never more than the share at once") {
    Fixture f;
    f.add("svc", 10);
    f.settle("svc", 10);
    OutlierOptions o;
    o.consecutive_failures = 1;
    o.base_ejection = 200ms;
    o.max_ejected_share = 0.2;  // 2 of 10
    auto p = f.registry.picker("svc", with_outlier(PickPolicy::round_robin, o));
    for (int i = 0; i < 100; ++i) p->pick().failure();  // everything fails
    CHECK(p->ejected() == 2);                           // the share holds
    CHECK(histogram(*p, 80).size() == 8);
}

TEST_CASE("picker: a failure rate over the window ejects") {
    Fixture f;
    f.add("svc", 2);
    f.settle("svc", 2);
    OutlierOptions o;
    o.consecutive_failures = 0;  // off
    o.failure_rate = 0.5;
    o.min_calls = 10;
    o.max_ejected_share = 0.5;
    auto p = f.registry.picker("svc", with_outlier(PickPolicy::round_robin, o));
    int calls_to_flaky = 0;
    for (int i = 0; i < 40 && p->ejected() == 0; ++i) {
        auto c = p->pick();
        // every other call to 10.0.0.1 fails: 50%, never 2 in a row
        if (c.instance().address == "10.0.0.1:80" && calls_to_flaky++ % 2 == 0)
            c.failure();
        else
            c.success();
    }
    CHECK(p->ejected() == 1);
}

TEST_CASE("picker: the local zone first, spilling to the region and the rest as it loses health") {
    Fixture f;
    // 0-3 zone a (region r), 4-7 zone b (region r), 8-11 zone c (region s)
    f.add("svc", 12, [](int i) {
        return std::map<std::string, std::string>{{"zone", i < 4   ? "a"
                                                           : i < 8 ? "b"
                                                                   : "c"},
                                                  {"region", i < 8 ? "r" : "s"}};
    });
    f.settle("svc", 12);
    auto p = f.registry.picker("svc", [] {
        PickerOptions o = opts(PickPolicy::random);
        o.locality = {"a", "r", 1.4};
        return o;
    }());
    std::map<std::string, int> where;
    for (int i = 0; i < 4000; ++i) where[p->pick().locality()]++;
    CHECK(where["zone"] == 4000);
    f.regs[0].set_health(MUSTER_HEALTH_CRITICAL);
    f.regs[1].set_health(MUSTER_HEALTH_CRITICAL);  // zone a: 2 of 4 healthy, 0.5 x 1.4 = 70% stays
    REQUIRE(eventually([&] {
        int bad = 0;
        auto snapshot = f.registry.resolve("svc");
        for (const auto& i : snapshot->instances) bad += i.health != MUSTER_HEALTH_PASSING;
        return bad == 2;
    }));
    where.clear();
    for (int i = 0; i < 20000; ++i) where[p->pick().locality()]++;
    CHECK(std::abs(where["zone"] - 14000) < 500);
    CHECK(std::abs(where["region"] - 6000) < 500);  // the region takes the rest: it is healthy
    CHECK(where["other"] == 0);
}

TEST_CASE("picker: drain travels through a plugin built against the frozen ABI 1.0 headers") {
    PluginLoader loader;
    Registry registry(std::make_shared<Chain>(
                          std::vector<Link>{{BackendClient::create(loader.load(MUSTER_C_PLUGIN), {}, 1000), true}}),
                      quick_options(200ms, 1000ms, 100ms));
    auto a = registry.register_instance({"svc", "10.0.0.1:80", "", {}, {}, {}});
    auto b = registry.register_instance({"svc", "10.0.0.2:80", "", {}, {}, {}});
    auto p = registry.picker("svc", opts(PickPolicy::round_robin));
    REQUIRE(eventually([&] { return histogram(*p, 20).count("10.0.0.2:80") > 0; }));
    CHECK(b.drain().ok());
    REQUIRE(eventually([&] { return histogram(*p, 20).count("10.0.0.2:80") == 0; }));
    CHECK(registry.resolve("svc")->instances.size() == 2);
}

TEST_CASE("picker: another process's drain: zero picks of the instance once its event arrives") {
    auto dir = std::filesystem::temp_directory_path() / ("muster-drain-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::string db = (dir / "shared.db").string(), host = MUSTER_HOST_BIN;
    std::string common = " --backend-option catalog-sqlite.path=" + db + " --heartbeat-interval 500ms";
    struct Reaper {  // the services die with the test, pass or fail
        std::filesystem::path dir;
        ~Reaper() {
            std::system(("kill $(cat " + (dir / "pids").string() + ") 2>/dev/null; sleep 0.5").c_str());
            std::filesystem::remove_all(dir);
        }
    } reaper{dir};
    for (int i = 1; i <= 3; ++i)  // three services in processes of their own
        REQUIRE(std::system((host + " run --role svc --address 10.0.0." + std::to_string(i) + ":80" + common + " > " +
                             (dir / ("q" + std::to_string(i) + ".log")).string() + " 2>&1 & echo $! >> " +
                             (dir / "pids").string())
                                .c_str()) == 0);
    PluginLoader loader;
    Registry registry(std::make_shared<Chain>(std::vector<Link>{
                          {BackendClient::create(loader.load("catalog-sqlite"), {{"path", db}}, 1500), true}}),
                      quick_options(500ms, 1500ms, 100ms));
    REQUIRE(eventually([&] { return registry.resolve("svc")->instances.size() == 3; }));
    auto p = registry.picker("svc", opts(PickPolicy::round_robin));
    std::string drained_id;
    auto snapshot = registry.resolve("svc");
    for (const auto& i : snapshot->instances)
        if (i.address == "10.0.0.2:80") drained_id = i.id;
    std::atomic<bool> seen{false};
    auto sub = registry.watch(std::string("svc"), [&](const TopologyEvent& e) {
        if (e.type == MUSTER_EVENT_CHANGED && e.instance.metadata.count(MUSTER_META_DRAIN)) seen = true;
    });
    std::atomic<bool> stop{false};
    std::atomic<int> after_event{0}, total{0};
    std::thread picking([&] {
        while (!stop) {
            bool before = seen.load();
            auto c = p->pick();
            ++total;
            if (before && c.instance().address == "10.0.0.2:80") ++after_event;
        }
    });
    std::this_thread::sleep_for(300ms);
    REQUIRE(std::system(
                (host + " drain --id " + drained_id + " --backend-option catalog-sqlite.path=" + db + " > /dev/null")
                    .c_str()) == 0);
    CHECK(eventually([&] { return seen.load(); }, 5s));
    std::this_thread::sleep_for(500ms);
    stop = true;
    picking.join();
    CHECK(total > 1000);
    CHECK(after_event == 0);
}

TEST_CASE("picker: the latest change of the drain mark wins, whichever clock made it") {
    muster::sdk::Instance mine, seen;
    CHECK(set_drain(seen, true, 5000));  // another process drains it
    CHECK(adopt_drain(mine, seen));
    CHECK(drained(mine));
    CHECK_FALSE(adopt_drain(mine, seen));  // nothing newer
    CHECK(set_drain(mine, false, 1000));   // the owner's clock is behind: stamped after 5000 all the same
    CHECK(drain_changed_at(mine) == 5001);
    CHECK_FALSE(adopt_drain(mine, seen));  // its own end of the drain is the latest
    CHECK_FALSE(set_drain(mine, false, 9000));
    seen.metadata[MUSTER_META_DRAIN_AT] = "garbage";  // unreadable: never newer
    CHECK_FALSE(adopt_drain(mine, seen));
}

TEST_CASE("picker: a drain made from outside survives the owner's later writes; --undo too") {
    auto dir = std::filesystem::temp_directory_path() / ("muster-drain-own-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    struct Cleanup {
        std::filesystem::path dir;
        ~Cleanup() { std::filesystem::remove_all(dir); }
    } cleanup{dir};
    std::string db = (dir / "shared.db").string();
    PluginLoader loader;
    Registry owner(std::make_shared<Chain>(std::vector<Link>{
                       {BackendClient::create(loader.load("catalog-sqlite"), {{"path", db}}, 1500), true}}),
                   quick_options(500ms, 1500ms, 100ms));
    auto reg = owner.register_instance({"svc", "10.0.0.1:80", "", {}, {}, {}});
    auto drain = [&](const std::string& extra) {
        return std::system((std::string(MUSTER_HOST_BIN) + " drain --id " + reg.id() + extra +
                            " --heartbeat-interval 500ms --backend-option catalog-sqlite.path=" + db + " > /dev/null")
                               .c_str());
    };
    // What a store lists now, read by a chain of its own (another process's view).
    auto stored = [&]() {
        auto chain = std::make_shared<Chain>(
            std::vector<Link>{{BackendClient::create(loader.load("catalog-sqlite"), {{"path", db}}, 1500), true}});
        auto read = chain->list(nullptr, 0);
        REQUIRE(read.outcome.ok());
        REQUIRE(read.instances.size() == 1);
        return read.instances.front();
    };
    REQUIRE(drain("") == 0);
    // The owner writes the instance for its own reasons: a new verdict.
    CHECK(reg.set_health(MUSTER_HEALTH_WARNING, "busy").ok());
    CHECK(reg.set_health(MUSTER_HEALTH_PASSING).ok());
    auto now = stored();
    CHECK(now.health == MUSTER_HEALTH_PASSING);
    CHECK(drained(now));
    REQUIRE(drain(" --undo") == 0);
    CHECK(reg.set_health(MUSTER_HEALTH_WARNING, "busy").ok());
    now = stored();
    CHECK(now.health == MUSTER_HEALTH_WARNING);
    CHECK_FALSE(drained(now));
    // The owner's own drain is the latest change again.
    CHECK(reg.drain().ok());
    CHECK(drained(stored()));
}
