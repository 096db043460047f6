// libmuster's C API, through the C++ wrapper (client.hpp) and directly:
// settings and their errors, register/resolve/watch/pick, callbacks never
// after unsubscribe returns, the last good snapshot marked stale while the
// backend is down, handles that outlive their client. Runs under the
// sanitizers like every ctest program.
#include <muster/client.hpp>

#include "../support/eventually.hpp"
#include "../support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
using muster::client::Client;
using test_support::eventually;
using test_support::TempDir;

namespace {

Client sqlite_client(const TempDir& dir) {
    return Client({{"backend-option", "catalog-sqlite.path=" + (dir / "m.db")},
                   {"heartbeat-interval", "300ms"},
                   {"log-level", "warn"}});
}

}  // namespace

TEST_CASE("client api: the loaded library says its version") {
    CHECK(muster_client_version() >> 16 == MUSTER_CLIENT_VERSION_MAJOR);
    CHECK((muster_client_version() & 0xffff) == MUSTER_CLIENT_VERSION_MINOR);  // built together
}

TEST_CASE("client api: a bad setting is INVALID_ARGUMENT naming it; nothing opens") {
    auto open_error = [](std::vector<std::pair<std::string, std::string>> settings) {
        try {
            Client c(settings);
        } catch (const muster::client::Error& e) {
            return std::make_pair(e.status, std::string(e.what()));
        }
        return std::make_pair(MUSTER_OK, std::string());
    };
    auto [s1, m1] = open_error({{"heartbeat-interval", "soon"}});
    CHECK(s1 == MUSTER_INVALID_ARGUMENT);
    CHECK_THAT(m1, Catch::Contains("heartbeat-interval"));
    auto [s2, m2] = open_error({{"no-such-setting", "1"}});
    CHECK(s2 == MUSTER_INVALID_ARGUMENT);
    CHECK_THAT(m2, Catch::Contains("no-such-setting"));
    auto [s3, m3] = open_error({{"chain", "no-such-plugin"}});
    CHECK(s3 == MUSTER_NOT_FOUND);
    CHECK_THAT(m3, Catch::Contains("no-such-plugin"));
    // What happened reaches the caller: a plugin built for another ABI is
    // no missing plugin.
    auto [s4, m4] = open_error({{"chain", MUSTER_BROKEN_DIR "/broken-abi-newer.so"}});
    CHECK(s4 == MUSTER_UNSUPPORTED);
    CHECK_THAT(m4, Catch::Contains("ABI"));
    auto [s5, m5] = open_error({{"heartbeat-interval", "1s"}, {"heartbeat-interval", "2s"}});
    CHECK(s5 == MUSTER_INVALID_ARGUMENT);
    CHECK_THAT(m5, Catch::Contains("given twice"));

    muster_error err{};
    muster_client* c = nullptr;
    muster_client_config both{sizeof both, 0, "/etc/muster/a.toml", "[discovery]\n", nullptr, 0};
    CHECK(muster_client_open(&both, &c, &err) == MUSTER_INVALID_ARGUMENT);
    CHECK(c == nullptr);
    muster_client_config unset{};
    CHECK(muster_client_open(&unset, &c, &err) == MUSTER_INVALID_ARGUMENT);
    CHECK_THAT(err.message, Catch::Contains("struct_size"));
}

TEST_CASE("client api: configuration as text, register, resolve, pick, health and drain") {
    TempDir dir;
    std::string text = "[discovery]\nheartbeat_interval = \"300ms\"\n[backend.catalog-sqlite]\npath = \"" +
                       (dir / "m.db") + "\"\n[log]\nlevel = \"warn\"\n";
    muster_client_config config{sizeof config, 0, nullptr, text.c_str(), nullptr, 0};
    muster_error err{};
    muster_client* c = nullptr;
    REQUIRE(muster_client_open(&config, &c, &err) == MUSTER_OK);

    muster_kv meta[] = {{"zone", "a"}};
    muster_service svc{sizeof svc, 0, "router", "10.0.0.1:80", nullptr, meta, 1, nullptr, 0, nullptr, 0};
    muster_registration* r = nullptr;
    REQUIRE(muster_register(c, &svc, &r, &err) == MUSTER_OK);
    CHECK(std::string(muster_registration_id(r)).size() == 36);
    muster_service dup = svc;
    dup.id = muster_registration_id(r);
    muster_registration* again = nullptr;
    CHECK(muster_register(c, &dup, &again, &err) == MUSTER_CONFLICT);
    muster_service bad = svc;
    bad.role = "Not A Role";
    CHECK(muster_register(c, &bad, &again, &err) == MUSTER_INVALID_ARGUMENT);

    muster_snapshot* s = nullptr;
    REQUIRE(muster_resolve(c, "router", &s, &err) == MUSTER_OK);
    REQUIRE(s->count == 1);
    CHECK(std::string(s->instances[0].address) == "10.0.0.1:80");
    CHECK(std::string(s->backend) == "catalog-sqlite");
    CHECK(s->stale == 0);
    muster_snapshot_free(s);
    CHECK(muster_resolve(c, "Not A Role", &s, &err) == MUSTER_INVALID_ARGUMENT);
    CHECK(s == nullptr);

    muster_picker* p = nullptr;
    muster_picker_options po{sizeof po, 0, "maglev", nullptr, nullptr, 0};
    REQUIRE(muster_picker_open(c, "router", &po, &p, &err) == MUSTER_OK);
    muster_call* call = nullptr;
    REQUIRE(muster_pick(p, "user-1", 6, &call, &err) == MUSTER_OK);
    CHECK(std::string(muster_call_instance(call)->address) == "10.0.0.1:80");
    muster_picker_close(p);  // a call in flight keeps what it needs
    CHECK(std::string(muster_call_instance(call)->address) == "10.0.0.1:80");
    muster_call_end(call, MUSTER_CALL_FAILURE, 1500);

    CHECK(muster_set_health(r, MUSTER_HEALTH_WARNING, "busy", 0, &err) == MUSTER_OK);
    REQUIRE(eventually([&] {
        muster_snapshot* now = nullptr;
        REQUIRE(muster_resolve(c, "router", &now, &err) == MUSTER_OK);
        bool warning = now->count == 1 && now->instances[0].health == MUSTER_HEALTH_WARNING;
        muster_snapshot_free(now);
        return warning;
    }));
    CHECK(muster_set_health(r, MUSTER_HEALTH_PASSING, nullptr, -1, &err) == MUSTER_INVALID_ARGUMENT);
    CHECK(muster_drain(r, 1, &err) == MUSTER_OK);
    REQUIRE(muster_picker_open(c, "router", nullptr, &p, &err) == MUSTER_OK);
    REQUIRE(eventually([&] {
        muster_call* none = nullptr;
        muster_status st = muster_pick(p, nullptr, 0, &none, &err);
        muster_call_end(none, MUSTER_CALL_NONE, -1);  // picked before the drain reached the cache
        return st == MUSTER_NOT_FOUND && none == nullptr;
    }));
    muster_picker_close(p);
    CHECK(muster_deregister(r, &err) == MUSTER_OK);
    muster_client_close(c);
}

TEST_CASE("client api: events arrive, and never after unsubscribe returns") {
    TempDir dir;
    auto a = sqlite_client(dir);
    auto b = sqlite_client(dir);
    std::atomic<int> added{0}, after_cancel{0};
    std::atomic<bool> cancelled{false};
    auto sub = a.watch("worker", [&](muster_event_type type, const muster_instance&, const char*) {
        if (cancelled) ++after_cancel;
        if (type == MUSTER_EVENT_ADDED) ++added;
        std::this_thread::sleep_for(5ms);  // slow, so a cancel meets a callback in progress
    });
    std::vector<muster::client::Registration> regs;
    std::thread writer([&] {
        for (int i = 0; i < 20; ++i)
            regs.push_back(
                b.register_instance({.role = "worker", .address = "10.0.1." + std::to_string(i + 1) + ":80"}));
    });
    REQUIRE(eventually([&] { return added >= 3; }));
    { auto gone = std::move(sub); }  // cancelled here
    cancelled = true;
    writer.join();
    std::this_thread::sleep_for(500ms);
    CHECK(after_cancel == 0);
}

TEST_CASE("client api: while the backend is down, resolve answers the last good snapshot, marked stale") {
    TempDir dir;
    std::string down = dir / "down";
    Client c({{"chain", "memory"},
              {"backend-option", "memory.down_while=" + down},
              {"heartbeat-interval", "300ms"},
              {"log-level", "off"}});
    auto r = c.register_instance({.role = "router", .address = "10.0.0.1:80"});
    auto fresh = c.resolve("router");
    REQUIRE(fresh.size() == 1);
    CHECK_FALSE(fresh.stale());
    std::ofstream(down).put('x');
    REQUIRE(eventually([&] { return c.resolve("router").stale(); }));
    auto stale = c.resolve("router");
    REQUIRE(stale.size() == 1);
    CHECK(std::string(stale.begin()->address) == "10.0.0.1:80");
    std::filesystem::remove(down);
    REQUIRE(eventually([&] { return !c.resolve("router").stale(); }));
}

TEST_CASE("client api: handles may outlive their client") {
    TempDir dir;
    muster_client_config config{sizeof config, 0, nullptr, nullptr, nullptr, 0};
    std::string path = "catalog-sqlite.path=" + (dir / "m.db");
    muster_kv settings[] = {{"backend-option", path.c_str()}, {"log-level", "warn"}};
    config.settings = settings;
    config.settings_count = 2;
    muster_error err{};
    muster_client* c = nullptr;
    REQUIRE(muster_client_open(&config, &c, &err) == MUSTER_OK);
    muster_service svc{sizeof svc, 0, "router", "10.0.0.1:80", nullptr, nullptr, 0, nullptr, 0, nullptr, 0};
    muster_registration* r = nullptr;
    REQUIRE(muster_register(c, &svc, &r, &err) == MUSTER_OK);
    muster_picker* p = nullptr;
    REQUIRE(muster_picker_open(c, "router", nullptr, &p, &err) == MUSTER_OK);
    muster_subscription* sub = nullptr;
    REQUIRE(muster_subscribe(
                c, nullptr, [](void*, uint32_t, const muster_instance*, const char*) {}, nullptr, &sub, &err) ==
            MUSTER_OK);
    muster_client_close(c);  // deregisters r
    CHECK(muster_set_health(r, MUSTER_HEALTH_WARNING, nullptr, 0, &err) == MUSTER_NOT_FOUND);
    muster_call* call = nullptr;
    muster_pick(p, nullptr, 0, &call, &err);
    muster_call_end(call, MUSTER_CALL_SUCCESS, -1);
    muster_unsubscribe(sub);
    muster_picker_close(p);
    CHECK(muster_deregister(r, &err) == MUSTER_OK);  // stopped already: nothing to do
}

TEST_CASE("client api: muster_set_log takes the library's lines at the client's level, warn unless set") {
    struct Lines {
        std::mutex mu;
        std::vector<std::pair<muster_log_level, std::string>> all;
        bool any(muster_log_level level, const std::string& start) {
            std::lock_guard lk(mu);
            for (const auto& [l, text] : all)
                if (l == level && text.rfind(start, 0) == 0) return true;
            return false;
        }
    } lines;
    muster_set_log(
        [](void* user, muster_log_level level, const char* message) {
            auto* l = static_cast<Lines*>(user);
            std::lock_guard lk(l->mu);
            l->all.emplace_back(level, message);
        },
        &lines);
    TempDir dir;
    {
        // The default level: a store that is not there is a warning; the
        // registration's info line is not sent.
        Client quiet(
            {{"chain", "catalog-sqlite, memory"}, {"backend-option", "catalog-sqlite.path=" + (dir / "absent/m.db")}});
        auto reg = quiet.register_instance({"logged", "10.0.0.1:1"});
        CHECK(lines.any(MUSTER_LOG_WARN, "backend catalog-sqlite is not available"));
        CHECK_FALSE(lines.any(MUSTER_LOG_INFO, "registered logged"));
    }
    {
        Client chatty({{"backend-option", "catalog-sqlite.path=" + (dir / "m.db")}, {"log-level", "info"}});
        auto reg = chatty.register_instance({"logged", "10.0.0.1:2"});
        CHECK(lines.any(MUSTER_LOG_INFO, std::string("registered logged ") + reg.id()));  // no time or level before it
    }
    muster_set_log(nullptr, nullptr);
}

TEST_CASE("client api: with regions, resolve and pickers answer local first and fail over to the next region") {
    TempDir dir;
    auto config = [&](const std::string& region) {
        return "[discovery]\nregion = \"" + region + "\"\nheartbeat_interval = \"300ms\"\n[log]\nlevel = \"warn\"\n" +
               "[region.eu]\nchain = \"catalog-sqlite\"\n[region.eu.backend.catalog-sqlite]\npath = \"" +
               (dir / "eu.db") + "\"\n[region.us]\nchain = \"catalog-sqlite\"\n[region.us.backend.catalog-sqlite]\n" +
               "path = \"" + (dir / "us.db") + "\"\n";
    };
    auto open = [](const std::string& text) {
        muster_client_config cfg{sizeof cfg, 0, nullptr, text.c_str(), nullptr, 0};
        muster_error err{};
        muster_client* c = nullptr;
        REQUIRE(muster_client_open(&cfg, &c, &err) == MUSTER_OK);
        return c;
    };
    muster_client* eu = open(config("eu"));
    muster_client* us = open(config("us"));
    muster_error err{};
    auto first_address = [&] {
        muster_snapshot* s = nullptr;
        REQUIRE(muster_resolve(eu, "router", &s, &err) == MUSTER_OK);
        std::string a = s->count ? s->instances[0].address : "";
        muster_snapshot_free(s);
        return a;
    };
    muster_service remote{sizeof remote, 0, "router", "10.2.0.1:80", nullptr, nullptr, 0, nullptr, 0, nullptr, 0};
    muster_registration* r_us = nullptr;
    REQUIRE(muster_register(us, &remote, &r_us, &err) == MUSTER_OK);
    CHECK(eventually([&] { return first_address() == "10.2.0.1:80"; }));  // none in eu: us answers
    muster_picker* picker = nullptr;
    REQUIRE(muster_picker_open(eu, "router", nullptr, &picker, &err) == MUSTER_OK);
    auto picked = [&] {
        muster_call* call = nullptr;
        if (muster_pick(picker, nullptr, 0, &call, &err) != MUSTER_OK) return std::string();
        std::string a = muster_call_instance(call)->address;
        muster_call_end(call, MUSTER_CALL_SUCCESS, 10);
        return a;
    };
    CHECK(picked() == "10.2.0.1:80");  // picks in the answering region
    muster_service local = remote;
    local.address = "10.1.0.1:80";
    muster_registration* r_eu = nullptr;
    REQUIRE(muster_register(eu, &local, &r_eu, &err) == MUSTER_OK);
    CHECK(eventually([&] { return first_address() == "10.1.0.1:80"; }));  // eu again
    CHECK(eventually([&] { return picked() == "10.1.0.1:80"; }));         // and so the picker, never both
    CHECK(muster_deregister(r_eu, &err) == MUSTER_OK);
    CHECK(eventually([&] { return first_address() == "10.2.0.1:80"; }));
    CHECK(eventually([&] { return picked() == "10.2.0.1:80"; }));
    CHECK(muster_deregister(r_us, &err) == MUSTER_OK);
    muster_client_close(us);
    muster_client_close(eu);
    picked();  // a picker outliving its client picks with its last picker, never reaching into the closed node
    muster_picker_close(picker);
}
