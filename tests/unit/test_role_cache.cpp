// A role cache fed by a synced watch: each change is published by itself
// (RoleCache::publish_change), snapshots share the instances that did not
// change, and the removal guard and the index behave as for a full answer.
#include <muster/core/role_cache.hpp>

#include "../support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace muster::core;
using namespace test_support;

namespace {

muster::sdk::Instance instance(int k, const std::string& address = "10.0.0.1:80") {
    muster::sdk::Instance i;
    i.id = "00000000-0000-4000-8000-00000000000" + std::to_string(k);
    i.role = "svc";
    i.address = address;
    return i;
}

BackendEvent event(muster_event_type t, std::optional<muster::sdk::Instance> i = std::nullopt) {
    return BackendEvent{t, std::move(i), MUSTER_OK, ""};
}

}  // namespace

TEST_CASE("a synced watch's changes are published one by one, sharing what did not change") {
    RoleCache cache("svc");
    for (int k = 0; k < 3; ++k) cache.apply(event(MUSTER_EVENT_ADDED, instance(k)), "w", 1000);
    CHECK_FALSE(cache.load());  // nothing before SYNCED
    cache.apply(event(MUSTER_EVENT_SYNCED), "w", 1000);
    auto first = cache.load();
    REQUIRE(first->instances.size() == 3);
    Events ev;
    cache.subscribe(ev.cb());

    cache.apply(event(MUSTER_EVENT_ADDED, instance(5)), "w", 1001);
    auto second = cache.load();
    REQUIRE(second->instances.size() == 4);
    CHECK(second->instances[3].id == instance(5).id);      // in id order
    CHECK(&second->instances[0] == &first->instances[0]);  // the same instance, not a copy
    CHECK(second->index > first->index);
    CHECK(ev.count(MUSTER_EVENT_ADDED, instance(5).id) == 1);

    auto beat = instance(1);
    beat.last_seen_ms = 5000;  // a heartbeat: no event, the index stays
    cache.apply(event(MUSTER_EVENT_CHANGED, beat), "w", 1002);
    CHECK(cache.load()->index == second->index);
    CHECK(cache.load()->instances[1].last_seen_ms == 5000);
    CHECK(ev.count(MUSTER_EVENT_CHANGED) == 0);

    cache.apply(event(MUSTER_EVENT_CHANGED, instance(1, "10.0.0.2:80")), "w", 1003);
    CHECK(ev.count(MUSTER_EVENT_CHANGED, instance(1).id) == 1);
    CHECK(cache.load()->instances[1].address == "10.0.0.2:80");

    auto stopped = instance(0);
    stopped.stopped_at_ms = 1004;  // a stop: removed at once
    cache.apply(event(MUSTER_EVENT_REMOVED, stopped), "w", 1004);
    CHECK(ev.count(MUSTER_EVENT_REMOVED, instance(0).id) == 1);
    CHECK(cache.load()->instances.size() == 3);

    cache.apply(event(MUSTER_EVENT_REMOVED, instance(2)), "w", 1005);  // vanished: held, still listed
    CHECK(ev.count(MUSTER_EVENT_REMOVED, instance(2).id) == 0);
    CHECK(cache.load()->instances.size() == 3);
    CHECK(cache.load()->held == 1);
    cache.verify_held({});  // no backend lists it: removed
    CHECK(ev.count(MUSTER_EVENT_REMOVED, instance(2).id) == 1);
    CHECK(cache.load()->held == 0);
    CHECK(cache.load()->instances.size() == 2);
}

TEST_CASE("any_eligible: a passing, undrained instance; worked out per snapshot, a copy asks again") {
    RoleSnapshot none;
    CHECK_FALSE(none.any_eligible());
    RoleSnapshot s;
    auto critical = instance(1);
    critical.health = MUSTER_HEALTH_CRITICAL;
    auto drained = instance(2);
    drained.metadata[MUSTER_META_DRAIN] = "true";
    s.instances.push_back(critical);
    s.instances.push_back(drained);
    CHECK_FALSE(s.any_eligible());
    RoleSnapshot next(s);  // the next snapshot, with one more instance
    next.instances.push_back(instance(3));
    CHECK(next.any_eligible());
    CHECK_FALSE(s.any_eligible());
}
