#include <muster/cpp/diff.hpp>

#include <catch2/catch.hpp>

using namespace muster::sdk;

namespace {
Instance inst(const std::string& id, const std::string& address, std::int64_t seen = 1) {
    Instance i;
    i.id = id;
    i.role = "r";
    i.address = address;
    i.last_seen_ms = seen;
    return i;
}
std::vector<std::pair<muster_event_type, std::string>> events(const Snapshot& a, const Snapshot& b) {
    std::vector<std::pair<muster_event_type, std::string>> out;
    diff(a, b, [&](muster_event_type t, const Instance& i) { out.emplace_back(t, i.id); });
    return out;
}
}  // namespace

TEST_CASE("diff emits removals, then additions and changes, and ignores heartbeats") {
    Snapshot before{{"a", inst("a", "h:1")}, {"b", inst("b", "h:2")}, {"c", inst("c", "h:3")}};
    Snapshot after{{"a", inst("a", "h:1", 99)}, {"c", inst("c", "h:9")}, {"d", inst("d", "h:4")}};
    auto ev = events(before, after);
    REQUIRE(ev.size() == 3);
    CHECK(ev[0] == std::make_pair(MUSTER_EVENT_REMOVED, std::string("b")));
    CHECK(ev[1] == std::make_pair(MUSTER_EVENT_CHANGED, std::string("c")));
    CHECK(ev[2] == std::make_pair(MUSTER_EVENT_ADDED, std::string("d")));
}

TEST_CASE("diff of equal snapshots is empty; metadata and health count as changes") {
    Snapshot a{{"a", inst("a", "h:1")}};
    CHECK(events(a, a).empty());
    Snapshot b = a;
    b["a"].metadata["k"] = "v";
    CHECK(events(a, b).size() == 1);
    Snapshot c = a;
    c["a"].health = MUSTER_HEALTH_CRITICAL;
    CHECK(events(a, c).size() == 1);
}

TEST_CASE("an instance's content digest moves with what same_content compares, not with its timestamps") {
    Instance a = inst("a", "h:1");
    CHECK(a.content_digest() == inst("a", "h:1", 99).content_digest());     // a heartbeat
    CHECK(a.content_digest() == inst("other-id", "h:1").content_digest());  // the id is the key, not content
    Instance b = a;
    b.address = "h:2";
    CHECK(b.content_digest() != a.content_digest());
    Instance c = a;
    c.role = "q";
    CHECK(c.content_digest() != a.content_digest());
    Instance d = a;
    d.health = MUSTER_HEALTH_WARNING;
    CHECK(d.content_digest() != a.content_digest());
    // Fields are length-prefixed: moving text from a key to its value, or
    // from the address into the metadata, is a change.
    Instance e = a, f = a;
    e.metadata = {{"ab", "c"}};
    f.metadata = {{"a", "bc"}};
    CHECK(e.content_digest() != f.content_digest());
    Instance g = a, h = a;
    g.address = "h:1x";
    h.metadata = {{"x", ""}};
    CHECK(g.content_digest() != h.content_digest());
}
