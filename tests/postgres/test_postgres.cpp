// catalog-postgres against a real server started by scripts/pg-start.sh
// (MUSTER_TEST_PG_URL, MUSTER_TEST_PG_RESTART/STOP/START). Exits 77 (ctest:
// skipped) when no server was started.
#include <muster/core/host_services.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>

#include "../support/required_environment.hpp"
#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <thread>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

// The servers scripts/test.sh starts; without them the program exits 77.
static const test_support::RequiredEnvironment needs{{"MUSTER_TEST_PG_URL"}};

namespace {

std::string fresh_schema() {
    static int n = 0;
    return "t" + std::to_string(getpid()) + "_" + std::to_string(n++);
}

std::shared_ptr<const LoadedPlugin> plugin() {
    static PluginLoader loader;
    return loader.load("catalog-postgres");
}

std::shared_ptr<BackendClient> backend(const std::string& schema, std::int64_t ttl_ms = 3000) {
    return BackendClient::create(plugin(),
                                 {{"url", env("MUSTER_TEST_PG_URL")},
                                  {"schema", schema},
                                  {"poll", "200ms"},
                                  {"connect_timeout", "2s"},
                                  {"statement_timeout", "2s"}},
                                 ttl_ms);
}

std::size_t live(BackendClient& b, const std::string& role) {
    std::vector<muster::sdk::Instance> out;
    return b.list(&role, 0, out).ok() ? out.size() : 0;
}

}  // namespace

TEST_CASE("a server restart mid-run loses nothing, resumes heartbeats and resyncs the watch") {
    auto schema = fresh_schema();
    auto chain = std::make_shared<Chain>(std::vector<Link>{{backend(schema), true}});
    const RegistryOptions opt = quick_options(300ms, 3000ms, 200ms);
    Registry registry(chain, opt);
    std::vector<Registration> regs;
    for (int i = 0; i < 5; ++i)
        regs.push_back(registry.register_instance({"querier", "10.0.0.1:" + std::to_string(7000 + i), "", {}, {}, {}}));
    Events ev;
    auto sub = registry.watch(std::string("querier"), ev.cb());
    REQUIRE(ev.count(MUSTER_EVENT_ADDED) == 5);

    run_env_command("MUSTER_TEST_PG_RESTART");

    // A change made by another client right after the restart reaches the
    // watch, whether or not its LISTEN was back yet.
    auto other = backend(schema);
    Registry other_registry(std::make_shared<Chain>(std::vector<Link>{{other, true}}), opt);
    Registration late;
    REQUIRE(eventually([&] {
        try {
            late = other_registry.register_instance({"querier", "10.0.0.2:7100", "", {}, {}, {}});
            return true;
        } catch (const muster::sdk::Error&) {
            return false;  // the server is still starting
        }
    }));
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, late.id()) == 1; }));
    // Heartbeats resumed: everything is still live a full ttl later.
    std::this_thread::sleep_for(opt.ttl + 500ms);
    CHECK(live(*other, "querier") == 6);
    CHECK(ev.count(MUSTER_EVENT_REMOVED) == 0);  // no live instance reported removed
}

TEST_CASE("hosts whose clocks disagree by an hour do not expire each other") {
    auto schema = fresh_schema();
    // Two host-service tables with skewed clocks, as two machines would have.
    struct Skewed {
        muster_host_services table{};
        std::int64_t skew_ms;
        explicit Skewed(std::int64_t skew) : skew_ms(skew) {
            table.struct_size = sizeof table;
            table.host_ctx = this;
            table.log = [](void*, muster_log_level, const char*) {};
            table.now_ms = [](void* ctx) {
                return std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       static_cast<Skewed*>(ctx)->skew_ms;
            };
        }
    } ahead(3600000), behind(-3600000);
    const muster_backend_v1& vt = *plugin()->backend;
    std::string url = env("MUSTER_TEST_PG_URL");
    auto make = [&](Skewed& clock) {
        muster_option opts[] = {{"url", url.c_str()}, {"schema", schema.c_str()}};
        muster_backend_config cfg{sizeof cfg, 0, &clock.table, opts, 2, 2000};
        muster_backend* b = nullptr;
        muster_error err{};
        REQUIRE(vt.create(&cfg, &b, &err) == MUSTER_OK);
        return b;
    };
    muster_backend* a = make(ahead);
    muster_backend* b = make(behind);
    std::string ida = new_instance_id(), idb = new_instance_id();
    muster_instance ia{sizeof(muster_instance), 0, ida.c_str(), "skew", "10.0.0.1:1", nullptr, 0, 0, 0, 0};
    muster_instance ib{sizeof(muster_instance), 0, idb.c_str(), "skew", "10.0.0.2:1", nullptr, 0, 0, 0, 0};
    muster_error err{};
    REQUIRE(vt.register_instance(a, &ia, &err) == MUSTER_OK);
    REQUIRE(vt.register_instance(b, &ib, &err) == MUSTER_OK);
    auto count = [&](muster_backend* on) {
        std::size_t n = 0;
        vt.list(
            on, "skew", 0,
            [](void* u, const muster_instance*) {
                ++*static_cast<std::size_t*>(u);
                return 0;
            },
            &n, &err);
        return n;
    };
    for (int i = 0; i < 6; ++i) {
        const char* ids_a[] = {ida.c_str()};
        const char* ids_b[] = {idb.c_str()};
        muster_status res[1];
        vt.heartbeat(a, ids_a, 1, res, &err);
        vt.heartbeat(b, ids_b, 1, res, &err);
        CHECK(count(a) == 2);
        CHECK(count(b) == 2);
        std::this_thread::sleep_for(500ms);
    }
    vt.destroy(a);
    vt.destroy(b);
}

TEST_CASE("SQL-shaped roles and metadata are stored and read back verbatim") {
    auto b = backend(fresh_schema());
    muster::sdk::Instance in;
    in.id = new_instance_id();
    in.role = "x--drop_table";
    in.address = "10.0.0.1:5432";
    in.metadata = {{"q", "'); DROP TABLE instances; --"},
                   {"dollar", "$1 $$ $body$"},
                   {"bs", "\\x00 \\' E'\\n'"},
                   {"json", "\"}, {\"a\": 1"},
                   {"semi", ";;;"}};
    REQUIRE(b->register_instance(in).ok());
    std::vector<muster::sdk::Instance> out;
    REQUIRE(b->list(&in.role, 0, out).ok());
    REQUIRE(out.size() == 1);
    CHECK(out[0].metadata == in.metadata);
    CHECK(out[0].role == in.role);
}

TEST_CASE("while the server is down calls fail fast with unavailable, and recover") {
    auto schema = fresh_schema();
    auto b = backend(schema);
    muster::sdk::Instance in;
    in.id = new_instance_id();
    in.role = "down";
    in.address = "10.0.0.1:1";
    REQUIRE(b->register_instance(in).ok());
    run_env_command("MUSTER_TEST_PG_STOP");
    auto t0 = std::chrono::steady_clock::now();
    auto o = b->register_instance(in);
    auto first = std::chrono::steady_clock::now() - t0;
    CHECK(o.status == MUSTER_UNAVAILABLE);
    CHECK(first < 5s);  // connect_timeout is 2 s
    CHECK(o.message.find("PostgreSQL") != std::string::npos);
    t0 = std::chrono::steady_clock::now();
    std::vector<muster::sdk::Instance> out;
    CHECK(b->list(nullptr, 0, out).status == MUSTER_UNAVAILABLE);
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    run_env_command("MUSTER_TEST_PG_START");
    CHECK(eventually([&] { return b->register_instance(in).ok(); }));
    CHECK(live(*b, "down") == 1);
}

TEST_CASE("a schema migrated by a newer version is refused with a clear message") {
    auto schema = fresh_schema();
    backend(schema).reset();
    auto admin = backend(schema);  // the tables exist now; bump the version behind its back
    std::string url = env("MUSTER_TEST_PG_URL");
    std::string cmd = "psql -q '" + url + "' -c 'UPDATE \"" + schema + "\".schema_version SET version = 99' >/dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    try {
        backend(schema);
        FAIL("a newer schema was accepted");
    } catch (const muster::sdk::Error& e) {
        CHECK(e.status() == MUSTER_CONFLICT);
        CHECK(std::string(e.what()).find("version 99") != std::string::npos);
    }
}

namespace {

// A connection of the test's own, as another program writing the schema.
struct Raw {
    PGconn* c = PQconnectdb(env("MUSTER_TEST_PG_URL").c_str());
    ~Raw() { PQfinish(c); }
    void sql(const std::string& text) {
        PGresult* r = PQexec(c, text.c_str());
        INFO(text << ": " << PQresultErrorMessage(r));
        auto st = PQresultStatus(r);
        PQclear(r);
        REQUIRE((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK));
    }
};

const std::string id_a = "00000000-0000-4000-8000-00000000000a";
const std::string id_b = "00000000-0000-4000-8000-00000000000b";

std::string insert(const std::string& schema, const std::string& id, const std::string& last_seen = "now()") {
    return "INSERT INTO \"" + schema + "\".instances (id, role, address, last_seen) VALUES ('" + id +
           "', 'feed', '10.0.0.1:1', " + last_seen + ")";
}

// A fresh schema, a registry on it and a watch of role "feed".
struct Watched {
    explicit Watched(std::chrono::milliseconds ttl)
            : store(backend(schema, ttl.count())),
              registry(std::make_shared<Chain>(std::vector<Link>{{store, true}}), quick_options(1s, ttl, 100ms)),
              sub(registry.watch(std::string("feed"), ev.cb())) {}
    std::string schema = fresh_schema();
    std::shared_ptr<BackendClient> store;
    Registry registry;
    Events ev;
    Subscription sub;
};

}  // namespace

TEST_CASE("the change feed: a transaction that commits after a newer one is not skipped") {
    Watched w(60s);
    const auto& schema = w.schema;
    auto& ev = w.ev;
    Raw early, late;
    // `early` writes first (its change takes the lower number), `late`
    // writes after and commits first: a cursor by number would pass the
    // early change before it commits.
    early.sql("BEGIN");
    early.sql(insert(schema, id_a));
    late.sql(insert(schema, id_b));
    std::this_thread::sleep_for(300ms);  // several reads of the feed while `early` is open
    early.sql("COMMIT");
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, id_a) == 1; }));
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, id_b) == 1; }));
}

TEST_CASE("the change feed: TRUNCATE, and a heartbeat after a silence longer than the ttl, reach a watch") {
    Watched w(3s);
    const auto& schema = w.schema;
    auto& ev = w.ev;
    Raw raw;
    raw.sql(insert(schema, id_a, "now() - interval '10 seconds'"));  // silent for 10 s: not live
    raw.sql(insert(schema, id_b));
    REQUIRE(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, id_b) == 1; }));
    CHECK(ev.count(MUSTER_EVENT_ADDED, id_a) == 0);
    raw.sql("UPDATE \"" + schema + "\".instances SET last_seen = now() WHERE id = '" + id_a + "'");
    REQUIRE(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, id_a) == 1; }));
    raw.sql("TRUNCATE \"" + schema + "\".instances");  // no row trigger fires: the feed says it lost track
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_REMOVED) == 2; }));
}
