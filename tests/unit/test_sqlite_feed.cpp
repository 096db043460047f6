// catalog-sqlite's change feed (docs/plugins/catalog-sqlite.md): whatever
// writes the file, a watch hears of each instance changed, and a watch
// whose changes were pruned re-lists. Rows here are written by a raw
// SQLite connection, as another program (or another muster version) would.
#include <muster/core/registry.hpp>
#include <muster/cpp/clock.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>

using namespace muster::core;
using namespace std::chrono_literals;
using namespace test_support;

namespace {

struct SqliteStore {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("muster-feed-" + std::to_string(getpid()) + "-" + std::to_string(next()) + ".db");
    std::shared_ptr<BackendClient> backend;
    sqlite3* raw = nullptr;

    SqliteStore() {
        static PluginLoader loader;
        backend = BackendClient::create(loader.load("catalog-sqlite"), {{"path", path.string()}}, 3000);
        REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
        sqlite3_busy_timeout(raw, 5000);
    }
    ~SqliteStore() {
        sqlite3_close(raw);
        backend.reset();
        for (auto ext : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + ext);
    }
    static int next() {
        static int n = 0;
        return n++;
    }
    void sql(const std::string& text) {
        char* err = nullptr;
        int rc = sqlite3_exec(raw, text.c_str(), nullptr, nullptr, &err);
        INFO(text << ": " << (err ? err : ""));
        sqlite3_free(err);
        REQUIRE(rc == SQLITE_OK);
    }
    // A row as another program writes it, last seen `age_ms` ago.
    void insert(const std::string& id, const std::string& address, std::int64_t age_ms = 0) {
        std::int64_t t = muster::sdk::system_ms() - age_ms;
        sql("INSERT INTO instances (id, role, address, registered_at, last_seen) VALUES ('" + id + "', 'feed', '" +
            address + "', " + std::to_string(t) + ", " + std::to_string(t) + ")");
    }
};

// A store, a registry on it and a watch of role "feed".
struct Watched {
    SqliteStore store;
    Registry registry{std::make_shared<Chain>(std::vector<Link>{{store.backend, true}}), quick_options(1s, 3s, 100ms)};
    Events ev;
    Subscription sub = registry.watch(std::string("feed"), ev.cb());
};

const std::string a = "00000000-0000-4000-8000-00000000000a";
const std::string b = "00000000-0000-4000-8000-00000000000b";

}  // namespace

TEST_CASE("catalog-sqlite: rows written by another program reach a watch as added, changed and removed") {
    Watched w;
    auto& store = w.store;
    auto& ev = w.ev;
    store.insert(a, "10.0.0.1:1");
    REQUIRE(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, a) == 1; }));
    store.sql("UPDATE instances SET address = '10.0.0.1:2' WHERE id = '" + a + "'");
    REQUIRE(eventually([&] { return ev.count(MUSTER_EVENT_CHANGED, a) == 1; }));
    store.sql("DELETE FROM instances WHERE id = '" + a + "'");
    REQUIRE(eventually([&] { return ev.count(MUSTER_EVENT_REMOVED, a) == 1; }));
}

TEST_CASE("catalog-sqlite: a heartbeat after a silence longer than the ttl brings the instance back to a watch") {
    Watched w;
    auto& store = w.store;
    auto& ev = w.ev;
    store.insert(a, "10.0.0.1:1", 10000);  // silent for 10 s: not live
    store.insert(b, "10.0.0.1:2");
    REQUIRE(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, b) == 1; }));
    CHECK(ev.count(MUSTER_EVENT_ADDED, a) == 0);
    store.sql("UPDATE instances SET last_seen = " + std::to_string(muster::sdk::system_ms()) + " WHERE id = '" + a +
              "'");
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, a) == 1; }));
}

TEST_CASE("catalog-sqlite: a watch whose changes were pruned before it read them re-lists") {
    Watched w;
    auto& store = w.store;
    auto& ev = w.ev;
    store.insert(b, "10.0.0.1:2");
    REQUIRE(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, b) == 1; }));
    // One transaction adds a row and prunes the whole feed, its own change
    // with it: only the re-list can find the row.
    store.sql("BEGIN IMMEDIATE");
    store.insert(a, "10.0.0.1:1");
    store.sql("UPDATE feed SET pruned_through = (SELECT seq FROM sqlite_sequence WHERE name = 'changes')");
    store.sql("DELETE FROM changes");
    store.sql("COMMIT");
    CHECK(eventually([&] { return ev.count(MUSTER_EVENT_ADDED, a) == 1; }));
}
