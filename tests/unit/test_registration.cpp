// The one registration builder (host/compose/registration.hpp) that run,
// the HTTP API and libmuster share: what it refuses, how it words it, and
// which checks each authority may name.
#include "compose/node.hpp"

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace host;

namespace {

// A runtime on the memory backend with one [check.web] (health-exec, never
// run here) and one [check.secret] whose header is a secret.
struct World {
    World() {
        s.chain = {{"memory", "memory", false, {}, {}}};
        CheckDef web;
        web.name = "web";
        web.plugin = "health-exec";
        web.options = {{"command", "true"}};
        s.checks["web"] = web;
        CheckDef secret;
        secret.name = "secret";
        secret.plugin = "health-http";
        secret.options = {{"url", "http://{address}/"}, {"headers", "Authorization: Bearer x"}};
        secret.allow_addresses = {"10.0.0.0/8"};
        s.checks["secret"] = secret;
        rt = compose(s, Startup::fail_fast);
    }
    Settings s;
    std::unique_ptr<Runtime> rt;
};

RegistrationRequest request(std::string role = "querier", std::string address = "10.0.0.1:80") {
    RegistrationRequest r;
    r.role = std::move(role);
    r.address = std::move(address);
    return r;
}

// The fault and message build_instance refuses `r` with.
std::pair<Fault, std::string> refusal(const World& w, const RegistrationRequest& r, CheckAuthority who) {
    try {
        build_instance(*w.rt, w.s, r, who);
    } catch (const SetupError& e) {
        return {e.fault(), e.what()};
    }
    FAIL("build_instance took it");
    return {};
}

}  // namespace

TEST_CASE("registration: fields, checks and dependencies become an instance spec") {
    World w;
    auto r = request();
    r.metadata = {{"zone", "a"}};
    r.checks = {"web"};
    r.depends_on = {"router, writer:2", "acceptor"};
    auto spec = build_instance(*w.rt, w.s, r, CheckAuthority::caller);
    CHECK(spec.role == "querier");
    CHECK(spec.metadata.at("zone") == "a");
    REQUIRE(spec.checks.size() == 1);
    CHECK(spec.checks[0].name == "web");
    REQUIRE(spec.depends_on.size() == 3);
    CHECK(spec.depends_on[1].role == "writer");
    CHECK(spec.depends_on[1].min_passing == 2);
    CHECK(spec.depends_on[2].role == "acceptor");
}

TEST_CASE("registration: bad input is refused with the request's origin and fault, before any check is made") {
    World w;
    auto r = request("Querier");
    r.origin = "app.toml [service.q]";
    r.bad_input = Fault::config;
    auto [fault, message] = refusal(w, r, CheckAuthority::operator_);
    CHECK(fault == Fault::config);
    CHECK(message.rfind("app.toml [service.q]: ", 0) == 0);
    CHECK_THROWS_AS(check_request(r), SetupError);  // the same, without a node

    auto meta = request();
    meta.metadata = {{"muster.health", "passing"}};
    CHECK(refusal(w, meta, CheckAuthority::caller).first == Fault::usage);

    auto twice = request();
    twice.checks = {"web", "web"};
    CHECK_THAT(refusal(w, twice, CheckAuthority::caller).second, Catch::Contains("named twice"));

    auto many = request();
    for (int i = 0; i < 17; ++i) many.checks.push_back("c" + std::to_string(i));
    CHECK_THAT(refusal(w, many, CheckAuthority::caller).second, Catch::Contains("at most 16 checks"));

    auto deps = request();
    std::string list;
    for (int i = 0; i < 17; ++i) list += "r" + std::to_string(i) + ",";
    deps.depends_on = {list};
    CHECK_THAT(refusal(w, deps, CheckAuthority::caller).second, Catch::Contains("at most 16 roles"));

    auto count = request();
    count.depends_on = {"writer:0"};
    CHECK_THAT(refusal(w, count, CheckAuthority::caller).second, Catch::Contains("depends_on 'writer:0'"));
}

TEST_CASE("registration: a caller names only a configured [check.NAME]; the operator may name a plugin") {
    World w;
    auto plugin = request();
    plugin.checks = {"health-tcp"};
    auto [fault, message] = refusal(w, plugin, CheckAuthority::caller);
    CHECK(fault == Fault::usage);
    CHECK_THAT(message, Catch::Contains("not a [check.NAME]") && Catch::Contains("configured: secret, web"));
    CHECK_NOTHROW(build_instance(*w.rt, w.s, plugin, CheckAuthority::operator_));

    auto path = request();
    path.checks = {"/tmp/evil.so"};
    CHECK(refusal(w, path, CheckAuthority::caller).first == Fault::usage);
    // The operator's path is loaded, and what happened is kept: no such file.
    auto [pf, pm] = refusal(w, path, CheckAuthority::operator_);
    CHECK(pf == Fault::plugin);

    // A check with a secret goes only to the addresses it allows.
    auto secret = request("querier", "192.168.1.5:80");
    secret.checks = {"secret"};
    CHECK_THAT(refusal(w, secret, CheckAuthority::caller).second, Catch::Contains("carries a secret"));
    secret.address = "10.1.2.3:80";
    CHECK_NOTHROW(build_instance(*w.rt, w.s, secret, CheckAuthority::caller));
}

TEST_CASE("registration: a plugin's load failure keeps its status") {
    World w;
    try {
        load_plugin(*w.rt, MUSTER_BROKEN_DIR "/broken-abi-newer.so");
        FAIL("loaded");
    } catch (const SetupError& e) {
        CHECK(e.fault() == Fault::plugin);
        CHECK(e.status() == MUSTER_UNSUPPORTED);
    }
    try {
        load_plugin(*w.rt, "no-such-plugin");
        FAIL("loaded");
    } catch (const SetupError& e) {
        CHECK(e.status() == MUSTER_NOT_FOUND);
    }
}
