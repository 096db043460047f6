// The health verdict of one instance: thresholds (flap damping), several
// checks, the pushed report, dependencies and what is published.
#include <muster/core/health_state.hpp>

#include <catch2/catch.hpp>

using namespace muster::core;

namespace {

CheckSpec spec(const std::string& name, int rise, int fall, std::int64_t deregister_after_ms = 0) {
    CheckSpec s;
    s.name = name;
    s.success_before_passing = rise;
    s.failures_before_critical = fall;
    s.deregister_critical_after = std::chrono::milliseconds(deregister_after_ms);
    return s;
}

const HealthResult kPass{MUSTER_HEALTH_PASSING, "ok"};
const HealthResult kFail{MUSTER_HEALTH_CRITICAL, "connection refused"};

}  // namespace

TEST_CASE("a check alternating pass and fail with thresholds 2/3 never changes the published health") {
    HealthState h({spec("api", 2, 3)}, MUSTER_HEALTH_WARNING);
    h.record(0, kPass, 0);  // the first verdict, taken as it comes
    int changes = 0;
    muster_health last = h.verdict(0).health;
    for (int i = 1; i <= 100; ++i) {
        h.record(0, i % 2 ? kFail : kPass, i * 1000);
        if (h.verdict(i * 1000).health != last) ++changes;
        last = h.verdict(i * 1000).health;
    }
    CHECK(changes == 0);
    CHECK(last == MUSTER_HEALTH_PASSING);
}

TEST_CASE("a hard failure turns critical on the failures_before_critical-th result, and back after the passes") {
    HealthState h({spec("api", 2, 3)}, MUSTER_HEALTH_WARNING);
    h.record(0, kPass, 0);
    h.record(0, kFail, 1);
    h.record(0, kFail, 2);
    CHECK(h.verdict(2).health == MUSTER_HEALTH_PASSING);
    h.record(0, kFail, 3);
    CHECK(h.verdict(3).health == MUSTER_HEALTH_CRITICAL);
    CHECK(h.verdict(3).reason == "api: connection refused");
    h.record(0, kPass, 4);
    CHECK(h.verdict(4).health == MUSTER_HEALTH_CRITICAL);
    h.record(0, kPass, 5);
    CHECK(h.verdict(5).health == MUSTER_HEALTH_PASSING);
    CHECK(h.verdict(5).reason.empty());
}

TEST_CASE("the first verdict is taken as it comes, whatever the thresholds") {
    HealthState h({spec("api", 5, 5)}, MUSTER_HEALTH_WARNING);
    CHECK(h.verdict(0).health == MUSTER_HEALTH_PASSING);  // nothing known yet: nothing against it
    h.record(0, kFail, 0);
    CHECK(h.verdict(0).health == MUSTER_HEALTH_CRITICAL);
}

TEST_CASE("several checks: the worst wins, each failing check's reason is kept") {
    HealthState h({spec("api", 1, 1), spec("disk", 1, 1), spec("db", 1, 1)}, MUSTER_HEALTH_WARNING);
    h.record(0, {MUSTER_HEALTH_WARNING, "slow"}, 0);
    h.record(1, kPass, 0);
    h.record(2, kFail, 0);
    auto v = h.verdict(0);
    CHECK(v.health == MUSTER_HEALTH_CRITICAL);
    CHECK(v.reason == "api: slow; db: connection refused");
}

TEST_CASE("a pushed report counts like a check and turns critical when its ttl passes unrefreshed") {
    HealthState h({}, MUSTER_HEALTH_WARNING);
    CHECK_FALSE(h.expires());
    h.push(MUSTER_HEALTH_PASSING, "", 1000, 0);
    CHECK(h.expires());
    CHECK(h.verdict(999).health == MUSTER_HEALTH_PASSING);
    auto late = h.verdict(1001);
    CHECK(late.health == MUSTER_HEALTH_CRITICAL);
    CHECK(late.reason.find("ttl") != std::string::npos);
    h.push(MUSTER_HEALTH_WARNING, "queue is long", 1000, 1500);
    CHECK(h.verdict(1600).health == MUSTER_HEALTH_WARNING);
    CHECK(h.verdict(1600).reason == "pushed: queue is long");
}

TEST_CASE("a dependency short of instances sets the severity, while `own` stays the checks' verdict") {
    HealthState h({spec("api", 1, 1)}, MUSTER_HEALTH_WARNING);
    h.record(0, kPass, 0);
    h.set_dependency_problem("dependency querier: 0 of 1 required passing instance(s)");
    auto v = h.verdict(0);
    CHECK(v.health == MUSTER_HEALTH_WARNING);
    CHECK(v.own == MUSTER_HEALTH_PASSING);
    CHECK(v.reason.find("querier") != std::string::npos);
    muster::sdk::Instance inst;
    CHECK(HealthState::apply(v, inst));
    CHECK(inst.health == MUSTER_HEALTH_WARNING);
    CHECK(inst.metadata.at(MUSTER_META_HEALTH_OWN) == "passing");
    CHECK_FALSE(HealthState::apply(v, inst));  // nothing new
    h.set_dependency_problem(std::nullopt);
    CHECK(HealthState::apply(h.verdict(0), inst));
    CHECK(inst.health == MUSTER_HEALTH_PASSING);
    CHECK(inst.metadata.empty());  // passing with nothing to say: no reserved keys
}

TEST_CASE("a check critical for deregister_critical_after is overdue") {
    HealthState h({spec("api", 1, 2, 5000)}, MUSTER_HEALTH_WARNING);
    h.record(0, kPass, 0);
    h.record(0, kFail, 1000);
    h.record(0, kFail, 2000);  // critical from here
    CHECK_FALSE(h.overdue(6999));
    CHECK(h.overdue(7000) == std::optional<std::string>("api"));
    h.record(0, kPass, 7100);
    CHECK_FALSE(h.overdue(20000));
}

TEST_CASE("a long reason is cut to fit the metadata limits") {
    HealthState h({spec("api", 1, 1)}, MUSTER_HEALTH_WARNING);
    h.record(0, {MUSTER_HEALTH_CRITICAL, std::string(5000, 'x')}, 0);
    CHECK(h.verdict(0).reason.size() < 600);
}
