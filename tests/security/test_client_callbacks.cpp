// docs/security.md, items 7 and 9: libmuster from C as a careless caller
// uses it. A subscription callback may call the whole API (deregister,
// subscribe, unsubscribe another subscription, close the client) without
// hanging; unsubscribing its own subscription answers CONFLICT; structs
// that are too short and NULL arrays with a count are refused; a C++
// callback that throws does not unwind through C. Each case runs with a
// deadline: a hang fails the test instead of stopping the suite.
#include <muster/client.hpp>

#include "../support/eventually.hpp"
#include "../support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>

#include <unistd.h>

using namespace std::chrono_literals;
using test_support::eventually;
using test_support::TempDir;

namespace {

muster_client* open_client(const TempDir& dir) {
    std::string path = "catalog-sqlite.path=" + (dir / "m.db");
    muster_kv settings[] = {{"backend-option", path.c_str()}, {"heartbeat-interval", "300ms"}, {"log-level", "off"}};
    muster_client_config config{sizeof config, 0, nullptr, nullptr, settings, 3};
    muster_error err{};
    muster_client* c = nullptr;
    REQUIRE(muster_client_open(&config, &c, &err) == MUSTER_OK);
    return c;
}

muster_registration* register_one(muster_client* c, const char* role, const char* address) {
    muster_service svc{sizeof svc, 0, role, address, nullptr, nullptr, 0, nullptr, 0, nullptr, 0};
    muster_error err{};
    muster_registration* r = nullptr;
    REQUIRE(muster_register(c, &svc, &r, &err) == MUSTER_OK);
    return r;
}

// Runs `f` on a thread of its own; true when it finished within `limit`
// (a deadlocked thread is left behind: the test has failed by then).
template <class F>
bool finishes(F f, std::chrono::milliseconds limit = 20s) {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    std::thread([f, done] {
        f();
        done->set_value();
    }).detach();
    return future.wait_for(limit) == std::future_status::ready;
}

}  // namespace

TEST_CASE("security 7: a callback that deregisters an instance of its own role does not hang") {
    TempDir dir;
    muster_client* c = open_client(dir);
    struct State {
        muster_registration* mine = nullptr;
        std::atomic<bool> stepped_down{false};
    } state;
    state.mine = register_one(c, "worker", "10.0.0.1:80");
    muster_subscription* sub = nullptr;
    muster_error err{};
    REQUIRE(muster_subscribe(
                c, "worker",
                [](void* user, uint32_t type, const muster_instance* i, const char*) {
                    auto* s = static_cast<State*>(user);
                    // "My peer went away, so I step down."
                    if (type == MUSTER_EVENT_REMOVED && std::string(i->address) == "10.0.0.2:80" && s->mine) {
                        muster_error e{};
                        muster_deregister(std::exchange(s->mine, nullptr), &e);
                        s->stepped_down = true;
                    }
                },
                &state, &sub, &err) == MUSTER_OK);
    muster_registration* peer = register_one(c, "worker", "10.0.0.2:80");
    CHECK(finishes([&] {
        muster_error e{};
        muster_deregister(peer, &e);
    }));
    CHECK(eventually([&] { return state.stepped_down.load(); }));
    CHECK(muster_unsubscribe(sub) == MUSTER_OK);
    muster_client_close(c);
}

struct Juggler {
    muster_client* client;
    muster_subscription* other = nullptr;
    std::atomic<int> other_events{0}, rounds{0};
};

void count_event(void* user, uint32_t, const muster_instance*, const char*) {
    ++static_cast<Juggler*>(user)->other_events;
}

TEST_CASE("security 7: a callback may subscribe and unsubscribe other subscriptions of its role") {
    TempDir dir;
    muster_client* c = open_client(dir);
    Juggler state{c};
    muster_subscription* sub = nullptr;
    muster_error err{};
    REQUIRE(muster_subscribe(
                c, "worker",
                [](void* user, uint32_t, const muster_instance*, const char*) {
                    auto* s = static_cast<Juggler*>(user);
                    muster_error e{};
                    if (s->other)
                        muster_unsubscribe(std::exchange(s->other, nullptr));
                    else
                        muster_subscribe(s->client, "worker", count_event, s, &s->other, &e);
                    ++s->rounds;
                },
                &state, &sub, &err) == MUSTER_OK);
    std::vector<muster_registration*> regs;
    CHECK(finishes([&] {
        for (int i = 0; i < 4; ++i)
            regs.push_back(register_one(c, "worker", ("10.0.1." + std::to_string(i + 1) + ":80").c_str()));
    }));
    CHECK(eventually([&] { return state.rounds >= 4; }));
    CHECK(state.other_events > 0);  // the subscription made in a callback was told
    CHECK(muster_unsubscribe(sub) == MUSTER_OK);
    muster_unsubscribe(state.other);
    for (auto* r : regs) muster_deregister(r, nullptr);
    muster_client_close(c);
}

TEST_CASE("security 7: unsubscribing a callback's own subscription from it stops it and answers CONFLICT") {
    TempDir dir;
    muster_client* c = open_client(dir);
    struct State {
        muster_subscription* self = nullptr;
        std::atomic<int> answer{-1}, calls{0};
    } state;
    muster_registration* r = register_one(c, "worker", "10.0.0.1:80");
    muster_error err{};
    std::atomic<bool> ready{false};
    REQUIRE(finishes([&] {
        muster_subscribe(
            c, "worker",
            [](void* user, uint32_t, const muster_instance*, const char*) {
                auto* s = static_cast<State*>(user);
                ++s->calls;
                if (s->self && s->answer < 0) s->answer = muster_unsubscribe(s->self);
            },
            &state, &state.self, &err);
        ready = true;
    }));
    REQUIRE(ready);
    muster_registration* more = register_one(c, "worker", "10.0.0.2:80");
    REQUIRE(eventually([&] { return state.answer >= 0; }));
    CHECK(state.answer == MUSTER_CONFLICT);
    int calls = state.calls;
    muster_registration* third = register_one(c, "worker", "10.0.0.3:80");
    std::this_thread::sleep_for(300ms);
    CHECK(state.calls == calls);                         // no call after it
    CHECK(muster_unsubscribe(state.self) == MUSTER_OK);  // and the second call frees it
    muster_deregister(r, nullptr);
    muster_deregister(more, nullptr);
    muster_deregister(third, nullptr);
    muster_client_close(c);
}

TEST_CASE("security 7: closing the client from a callback neither hangs nor ends the process") {
    TempDir dir;
    muster_client* c = open_client(dir);
    muster_client* other = open_client(dir);
    struct State {
        muster_client* client;
        std::atomic<bool> closed{false};
    } state{c};
    muster_registration* mine = register_one(c, "worker", "10.0.0.1:80");
    muster_subscription* sub = nullptr;
    muster_error err{};
    REQUIRE(muster_subscribe(
                c, "worker",
                [](void* user, uint32_t type, const muster_instance* i, const char*) {
                    auto* s = static_cast<State*>(user);
                    // Another process's instance came: this one closes.
                    if (type == MUSTER_EVENT_ADDED && std::string(i->address) == "10.0.0.2:80" &&
                        !s->closed.exchange(true))
                        muster_client_close(s->client);
                },
                &state, &sub, &err) == MUSTER_OK);
    muster_registration* theirs = register_one(other, "worker", "10.0.0.2:80");
    CHECK(eventually([&] { return state.closed.load(); }));
    // Closed for real: its instance is deregistered.
    CHECK(eventually([&] {
        muster_snapshot* snap = nullptr;
        muster_error e{};
        if (muster_resolve(other, "worker", &snap, &e) != MUSTER_OK) return false;
        bool gone = snap->count == 1;
        muster_snapshot_free(snap);
        return gone;
    }));
    CHECK(finishes([&] { muster_unsubscribe(sub); }));
    muster_deregister(mine, nullptr);  // deregistered by the close already
    muster_deregister(theirs, nullptr);
    muster_client_close(other);
}

TEST_CASE("security 7: the C++ wrapper: dropping a subscription inside its own callback, and a throwing callback") {
    TempDir dir;
    muster::client::Client c({{"backend-option", "catalog-sqlite.path=" + (dir / "m.db")}, {"log-level", "off"}});
    std::optional<muster::client::Subscription> sub;
    std::atomic<int> calls{0};
    // The role is empty: nothing is delivered before `sub` is set, and the
    // callback only runs for the registrations below.
    sub = c.watch("worker", [&](muster_event_type, const muster_instance&, const char*) {
        ++calls;
        sub.reset();  // its own subscription: cancelled after this returns
        throw std::runtime_error("a bug in the application");
    });
    std::optional<muster::client::Registration> a, b;
    CHECK(finishes([&] {
        a = c.register_instance({.role = "worker", .address = "10.0.0.1:80"});
        b = c.register_instance({.role = "worker", .address = "10.0.0.2:80"});
    }));
    CHECK(eventually([&] { return calls >= 1; }));
    std::this_thread::sleep_for(300ms);
    CHECK(calls == 1);  // never called after it was dropped
}

TEST_CASE("security 9: a struct_size shorter than the struct, and NULL arrays with a count, are refused") {
    TempDir dir;
    muster_client* c = open_client(dir);
    muster_error err{};
    muster_registration* r = nullptr;
    muster_service torn{12, 0, "worker", "10.0.0.1:80", nullptr, nullptr, 0, nullptr, 0, nullptr, 0};
    CHECK(muster_register(c, &torn, &r, &err) == MUSTER_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("struct_size") != std::string::npos);
    muster_service null_meta{sizeof null_meta, 0, "worker", "10.0.0.1:80", nullptr, nullptr, 3, nullptr, 0, nullptr, 0};
    CHECK(muster_register(c, &null_meta, &r, &err) == MUSTER_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("metadata is NULL") != std::string::npos);
    muster_service null_checks{
        sizeof null_checks, 0, "worker", "10.0.0.1:80", nullptr, nullptr, 0, nullptr, 2, nullptr, 0};
    CHECK(muster_register(c, &null_checks, &r, &err) == MUSTER_INVALID_ARGUMENT);
    muster_client_config short_config{8, 0, nullptr, nullptr, nullptr, 0};
    muster_client* other = nullptr;
    CHECK(muster_client_open(&short_config, &other, &err) == MUSTER_INVALID_ARGUMENT);
    CHECK(other == nullptr);
    muster_client_close(c);
}

TEST_CASE("security 1: a registration through the C API names only configured checks; nothing is loaded") {
    TempDir dir;
    std::string path = "catalog-sqlite.path=" + (dir / "m.db");
    std::string config = "[check.web]\nplugin = \"health-tcp\"\n";
    muster_kv settings[] = {{"backend-option", path.c_str()}, {"log-level", "off"}};
    muster_client_config cc{sizeof cc, 0, nullptr, config.c_str(), settings, 2};
    muster_error err{};
    muster_client* c = nullptr;
    REQUIRE(muster_client_open(&cc, &c, &err) == MUSTER_OK);
    auto attempt = [&](const char* check) {
        const char* checks[] = {check};
        muster_service svc{sizeof svc, 0, "worker", "127.0.0.1:1", nullptr, nullptr, 0, checks, 1, nullptr, 0};
        muster_registration* r = nullptr;
        muster_status s = muster_register(c, &svc, &r, &err);
        muster_deregister(r, nullptr);
        return std::make_pair(s, std::string(err.message));
    };
    CHECK(attempt("web").first == MUSTER_OK);
    // The same answer for a plugin's name, a missing file and one that
    // exists: nothing says what is on disk.
    std::set<std::string> answers;
    for (std::string bad : {"health-tcp", "/tmp/no-such-dir/x.so", "/usr/lib/x86_64-linux-gnu/libc.so.6", "../x"}) {
        auto [status, message] = attempt(bad.c_str());
        CHECK(status == MUSTER_INVALID_ARGUMENT);
        INFO(message);
        CHECK(message.find("is not a [check.NAME]") != std::string::npos);
        answers.insert(message.replace(message.find(bad), bad.size(), "NAME"));
    }
    CHECK(answers.size() == 1);
    muster_client_close(c);
}
