// The fallback promise at its edges, against real servers: stores that hang
// (SIGSTOP) instead of dying, stores that come back empty (wiped bucket,
// dropped table or schema, deleted database file), a store absent at
// start-up, a stop made while a store is away, and a store that returns
// after an outage longer than the ttl. The registries run on the chain's
// default deadlines and the plugins' default timeouts (a 2 s NATS request,
// a 5 s statement), with a 1 s heartbeat and a 3 s ttl. Timings are
// printed (bench/README.md quotes them), asserted only with generous
// bounds. Exits 77 (skipped) without the servers.
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>

#include "../support/required_environment.hpp"
#include "../support/test_support.hpp"
#include "stores.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <thread>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;
using chain_test::kTtlMs;
using chain_test::Stores;

// The servers scripts/test.sh starts; without them the program exits 77.
static const test_support::RequiredEnvironment needs{{"MUSTER_TEST_PG_URL", "MUSTER_TEST_NATS_URL",
                                                      "MUSTER_TEST_NATS_FREEZE", "MUSTER_TEST_PG_FREEZE",
                                                      "MUSTER_TEST_NATS_WIPE"}};

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

RegistryOptions one_second() { return quick_options(1000ms, std::chrono::milliseconds(kTtlMs), 100ms); }

std::shared_ptr<Chain> chain_of(std::vector<std::shared_ptr<BackendClient>> backends) {
    std::vector<Link> links;
    for (auto& b : backends) links.push_back({b});
    return std::make_shared<Chain>(std::move(links));
}

// A fresh process's `list`: new clients, every backend opened in parallel
// for at most a read's deadline, then one read through the chain.
struct FreshRead {
    ChainRead read;
    double ms;
};
FreshRead fresh_list(const Stores& stores, bool pg_first, const std::string& role) {
    auto t0 = Clock::now();
    auto peer = stores.peer(false);
    auto chain = chain_of({pg_first ? peer->pg : peer->nats, peer->lite});
    chain->open_all(ChainOptions{}.read_timeout);
    FreshRead r{chain->list(&role, 0), 0};
    r.ms = ms_since(t0);
    return r;
}

// Runs a server command at scope exit unless run() ran it already: a failed
// REQUIRE must not leave a server down or frozen for the tests after.
struct Undo {
    const char* cmd;
    bool armed = true;
    ~Undo() {
        if (armed) std::system((env(cmd) + " >/dev/null 2>&1").c_str());
    }
    void run() {
        armed = false;
        run_env_command(cmd);
    }
};

bool lists(BackendClient& b, const std::string& role, const std::string& id) {
    auto got = Stores::ids(b, role);
    return got && got->count(id) == 1;
}

// One store of a two-link chain (it, then catalog-sqlite) frozen for 6 s
// (twice the ttl) under a running registry, with a watcher in another
// "process" (its own clients and registry).
void hang_case(bool pg) {
    const char* freeze = pg ? "MUSTER_TEST_PG_FREEZE" : "MUSTER_TEST_NATS_FREEZE";
    const char* thaw = pg ? "MUSTER_TEST_PG_THAW" : "MUSTER_TEST_NATS_THAW";
    const char* name = pg ? "catalog-postgres" : "nats-kv";
    Stores stores(false);
    auto first = pg ? stores.pg : stores.nats;
    auto chain = chain_of({first, stores.lite});
    Registry registry(chain, one_second());
    auto watcher_stores = stores.peer(false);
    Registry watcher(chain_of({pg ? watcher_stores->pg : watcher_stores->nats, watcher_stores->lite}), one_second());
    Events mine, theirs;
    auto reg = registry.register_instance({"lone", "10.0.0.1:1", "", {}, {}, {}});
    auto gone = registry.register_instance({"brief", "10.0.0.1:2", "", {}, {}, {}});
    // Two stay: heartbeats go as a batch (pipelined puts for nats-kv).
    auto companion = registry.register_instance({"pair", "10.0.0.1:3", "", {}, {}, {}});
    auto sub = registry.watch(std::string("lone"), mine.cb());
    auto other = watcher.watch(std::string("lone"), theirs.cb());
    REQUIRE(eventually([&] { return theirs.count(MUSTER_EVENT_ADDED, reg.id()) == 1; }, 5s));
    REQUIRE(eventually([&] { return lists(*first, "lone", reg.id()); }, 5s));

    run_env_command(freeze);
    auto t0 = Clock::now();
    Undo thawing{thaw};
    // The running process's breaker opens without waiting for failures to pile up.
    bool opened = eventually([&] { return chain->status()[0].state != muster::core::Breaker::State::closed; }, 10s);
    double open_ms = ms_since(t0);
    CHECK(opened);
    // Its reads leave the hung link within a read deadline.
    auto r0 = Clock::now();
    std::string lone = "lone";
    ChainRead read = chain->list(&lone, 0);  // through the chain, not the cache
    double read_ms = ms_since(r0);
    CHECK(read.outcome.ok());
    CHECK(read.backend == "catalog-sqlite");
    // A fresh process answers from the next link.
    FreshRead fresh = fresh_list(stores, pg, "lone");
    CHECK(fresh.read.outcome.ok());
    CHECK(fresh.read.backend == "catalog-sqlite");
    CHECK(fresh.read.instances.size() == 1);
    // A stop is not delayed past the write deadline, and the other link has it at once.
    auto s0 = Clock::now();
    std::string gone_id = gone.id();
    gone.stop();
    double stop_ms = ms_since(s0);
    CHECK(stop_ms < 3000);
    CHECK_FALSE(lists(*stores.lite, "brief", gone_id));
    // Heartbeats to catalog-sqlite go on: it lists the instance throughout.
    std::int64_t gap_ms = 0, last_seen = 0;
    while (ms_since(t0) < 6000) {
        std::vector<muster::sdk::Instance> got;
        std::string role = "lone";
        REQUIRE(stores.lite->list(&role, 0, got).ok());
        CHECK(got.size() == 1);
        if (!got.empty()) {
            if (last_seen != 0 && got[0].last_seen_ms != last_seen)
                gap_ms = std::max(gap_ms, got[0].last_seen_ms - last_seen);
            last_seen = got[0].last_seen_ms;
        }
        std::this_thread::sleep_for(100ms);
    }
    thawing.run();
    // The hung store is written back and serves again; the stop reached it too.
    auto fresh_peer = stores.peer(false);
    auto& back = pg ? *fresh_peer->pg : *fresh_peer->nats;
    CHECK(eventually([&] { return lists(back, "lone", reg.id()); }, 15s));
    CHECK(eventually([&] { return !lists(back, "brief", gone_id); }, 15s));
    CHECK(eventually([&] { return chain->status()[0].state == muster::core::Breaker::State::closed; }, 15s));
    // Heartbeat batches work again after the thaw: longer than a ttl later
    // the store still lists both, and its breaker never opened again.
    std::this_thread::sleep_for(std::chrono::milliseconds(kTtlMs) + 1500ms);
    CHECK(lists(back, "lone", reg.id()));
    CHECK(lists(back, "pair", companion.id()));
    CHECK(chain->status()[0].state == muster::core::Breaker::State::closed);
    // No removal (and re-add) of the instance that stayed live, here or in the other process.
    CHECK(mine.count(MUSTER_EVENT_REMOVED, reg.id()) == 0);
    CHECK(theirs.count(MUSTER_EVENT_REMOVED, reg.id()) == 0);
    CHECK(theirs.count(MUSTER_EVENT_ADDED, reg.id()) == 1);
    std::printf(
        "hang of %s: breaker open after %.0f ms; running process's read %.0f ms; fresh list %.0f ms; "
        "stop %.0f ms; longest heartbeat gap on catalog-sqlite %lld ms\n",
        name, open_ms, read_ms, fresh.ms, stop_ms, static_cast<long long>(gap_ms));
}

}  // namespace

TEST_CASE("nats-server frozen: reads, heartbeats and stops go on through catalog-sqlite; nothing flaps") {
    hang_case(false);
}

TEST_CASE("PostgreSQL frozen: reads, heartbeats and stops go on through catalog-sqlite; nothing flaps") {
    hang_case(true);
}

TEST_CASE("a store that comes back empty is repaired by the processes that use it") {
    Stores stores(false);
    auto chain = chain_of({stores.nats, stores.pg, stores.lite});
    Registry registry(chain, one_second());
    auto reg = registry.register_instance({"phoenix", "10.0.0.1:1", "", {}, {}, {}});
    REQUIRE(
        eventually([&] { return lists(*stores.nats, "phoenix", reg.id()) && lists(*stores.pg, "phoenix", reg.id()); }));
    // Judged by readers of their own that never write: had the registry's
    // process not repaired the store, they would only create it empty. The
    // repair takes about two heartbeats; a loaded machine (the sanitizers)
    // gets up to 15 s.
    auto listed_after_repair = [&](std::shared_ptr<BackendClient> Stores::*store) {
        auto end = std::chrono::steady_clock::now() + 15s;
        do {
            std::this_thread::sleep_for(500ms);
            auto reader = stores.peer(false);
            if (lists(*((*reader).*store), "phoenix", reg.id())) return true;
        } while (std::chrono::steady_clock::now() < end);
        return false;
    };
    SECTION("nats-server restarted with its store wiped: the bucket is created again") {
        run_env_command("MUSTER_TEST_NATS_WIPE");
        CHECK(listed_after_repair(&Stores::nats));
    }
    SECTION("the PostgreSQL table dropped") {
        std::string sql =
            "psql '" + env("MUSTER_TEST_PG_URL") + "' -q -c 'DROP TABLE \"" + stores.tag + "\".instances'";
        REQUIRE(std::system((sql + " >/dev/null 2>&1").c_str()) == 0);
        CHECK(listed_after_repair(&Stores::pg));
    }
    SECTION("the PostgreSQL schema dropped") {
        std::string sql = "psql '" + env("MUSTER_TEST_PG_URL") + "' -q -c 'DROP SCHEMA \"" + stores.tag + "\" CASCADE'";
        REQUIRE(std::system((sql + " >/dev/null 2>&1").c_str()) == 0);
        CHECK(listed_after_repair(&Stores::pg));
    }
    SECTION("the SQLite database file deleted") {
        for (auto ext : {"", "-wal", "-shm"}) std::filesystem::remove(stores.sqlite.string() + ext);
        CHECK(listed_after_repair(&Stores::lite));
    }
}

TEST_CASE("a store absent at start-up joins the chain when it comes, and gets the registrations") {
    Stores stores(false);
    run_env_command("MUSTER_TEST_NATS_KILL");
    Undo starting{"MUSTER_TEST_NATS_START"};
    auto chain = chain_of({stores.nats, stores.lite});
    auto opened = chain->open_all(250ms);
    CHECK_FALSE(opened[0].ok());
    CHECK(opened[1].ok());
    Registry registry(chain, one_second());
    auto reg = registry.register_instance({"early", "10.0.0.1:1", "", {}, {}, {}});
    CHECK(lists(*stores.lite, "early", reg.id()));
    starting.run();
    auto reader = stores.peer(false);
    CHECK(eventually([&] { return lists(*reader->nats, "early", reg.id()); }, 15s));
    CHECK(eventually([&] { return chain->status()[0].state == muster::core::Breaker::State::closed; }, 5s));
}

TEST_CASE("a stop made while a store is away is not undone by its return, though its maker has exited") {
    Stores stores(false);
    auto host = [&] {
        auto s = stores.peer(false);
        auto r = std::make_unique<Registry>(chain_of({s->nats, s->pg}), one_second());
        return std::make_pair(std::move(s), std::move(r));
    };
    auto a = host(), b = host();
    auto c = std::make_optional(host());
    auto ra = a.second->register_instance({"svc", "10.0.0.1:1", "", {}, {}, {}});
    auto rb = b.second->register_instance({"svc", "10.0.0.1:2", "", {}, {}, {}});
    auto rc = c->second->register_instance({"svc", "10.0.0.1:3", "", {}, {}, {}});
    std::string stopped_id = rc.id();
    REQUIRE(eventually([&] { return Stores::ids(*stores.nats, "svc").value_or(std::set<std::string>{}).size() == 3; }));
    run_env_command("MUSTER_TEST_NATS_KILL");
    Undo starting{"MUSTER_TEST_NATS_START"};
    rc.stop();  // taken by catalog-postgres only
    c.reset();  // ... and its process exits
    CHECK_FALSE(lists(*stores.pg, "svc", stopped_id));
    starting.run();
    auto t0 = Clock::now();
    auto after = stores.peer(false);
    // The other processes' recoveries apply the stop catalog-postgres recorded,
    // well before the ttl would have expired it.
    CHECK(eventually(
        [&] {
            auto got = Stores::ids(*after->nats, "svc");
            return got && got->count(ra.id()) && got->count(rb.id()) && !got->count(stopped_id);
        },
        10s));
    std::printf("stop made while nats-server was away: gone from nats-kv %.0f ms after its return\n", ms_since(t0));
}

TEST_CASE("a store back after an outage longer than the ttl does not answer empty while another lists the role") {
    Stores stores(false);
    auto chain = chain_of({stores.nats, stores.lite});
    Registry registry(chain, one_second());
    auto reg = registry.register_instance({"steady", "10.0.0.1:1", "", {}, {}, {}});
    REQUIRE(eventually([&] { return lists(*stores.nats, "steady", reg.id()); }));
    run_env_command("MUSTER_TEST_NATS_KILL");
    Undo starting{"MUSTER_TEST_NATS_START"};
    std::this_thread::sleep_for(std::chrono::milliseconds(kTtlMs) + 1s);  // its key ages out meanwhile
    starting.run();
    auto t0 = Clock::now();
    int reads = 0, empty = 0;
    while (ms_since(t0) < 3000) {
        FreshRead r = fresh_list(stores, false, "steady");
        ++reads;
        if (!r.read.outcome.ok() || r.read.instances.empty()) ++empty;
    }
    CHECK(reads > 5);
    CHECK(empty == 0);
    // ... and the returning store gets the registration back within about a heartbeat.
    auto reader = stores.peer(false);
    CHECK(eventually([&] { return lists(*reader->nats, "steady", reg.id()); }, 5s));
    std::printf("store back after an outage > ttl: %d fresh lists in 3 s, %d empty\n", reads, empty);
}
