// The agent's DNS reply cache against what a client can send it: names it
// makes up, and the case variants of real ones (docs/security.md, item 3).
#include "../../host/agent/dns_answer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace {

// A query for `name` (type A), in wire form, with id `qid`.
std::vector<std::uint8_t> query(const std::string& name, std::uint16_t qid) {
    std::vector<std::uint8_t> q{
        static_cast<std::uint8_t>(qid >> 8), static_cast<std::uint8_t>(qid), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    for (std::size_t i = 0; i < name.size();) {
        auto dot = std::min(name.find('.', i), name.size());
        q.push_back(static_cast<std::uint8_t>(dot - i));
        q.insert(q.end(), name.begin() + static_cast<long>(i), name.begin() + static_cast<long>(dot));
        i = dot + 1;
    }
    q.insert(q.end(), {0, 0, 1, 0, 1});
    return q;
}

struct Roles {
    std::map<std::string, std::shared_ptr<const muster::core::RoleSnapshot>> known;
    host::agent::RoleLookup lookup() {
        return [this](const std::string& role) {
            auto it = known.find(role);
            return it != known.end() ? it->second : std::make_shared<const muster::core::RoleSnapshot>();
        };
    }
};

std::shared_ptr<const muster::core::RoleSnapshot> role_of(const std::string& role, int instances) {
    auto s = std::make_shared<muster::core::RoleSnapshot>();
    s->role = role;
    s->index = 7;
    for (int i = 0; i < instances; ++i) {
        muster::sdk::Instance in;
        in.id = "id-" + std::to_string(i);
        in.role = role;
        in.address = "10.0.0." + std::to_string(i + 1) + ":80";
        s->instances.push_back(std::move(in));
    }
    return s;
}

}  // namespace

TEST_CASE("DNS: 10,000 made-up names keep nothing in the reply cache, and a real role's reply stays kept") {
    Roles roles;
    roles.known["known"] = role_of("known", 3);
    host::agent::DnsAnswerCache cache;
    host::agent::DnsOptions options;
    auto known = query("known.service.muster", 1);
    auto first = host::agent::dns_answer(known.data(), known.size(), false, options, roles.lookup(), &cache);
    REQUIRE(first.rcode == "NOERROR");
    CHECK(cache.size() == 1);
    for (int i = 0; i < 10000; ++i) {
        auto q = query("made-up-" + std::to_string(i) + ".service.muster", static_cast<std::uint16_t>(i));
        host::agent::dns_answer(q.data(), q.size(), false, options, roles.lookup(), &cache);
    }
    CHECK(cache.size() == 1);  // before, each made-up name was kept, and every 4,096 the cache started over
    auto again = host::agent::dns_answer(known.data(), known.size(), false, options, roles.lookup(), &cache);
    CHECK(again.rcode == "NOERROR");
    CHECK(again.message.size() == first.message.size());
}

TEST_CASE("DNS: a real name in mixed case is answered in its own case and not kept") {
    Roles roles;
    roles.known["known"] = role_of("known", 3);
    host::agent::DnsAnswerCache cache;
    host::agent::DnsOptions options;
    for (std::string name : {"KNOWN.service.muster", "kNoWn.SERVICE.muster", "known.service.MUSTER"}) {
        auto q = query(name, 9);
        auto r = host::agent::dns_answer(q.data(), q.size(), false, options, roles.lookup(), &cache);
        CHECK(r.rcode == "NOERROR");
        // The question comes back as asked (the 0x20 resolvers check it).
        REQUIRE(r.message.size() > q.size());
        CHECK(std::equal(q.begin() + 12, q.end(), r.message.begin() + 12));
    }
    CHECK(cache.size() == 0);
}

TEST_CASE("DNS with regions: <role>.service.<region> asks that region, an unknown region is NXDOMAIN") {
    Roles roles;
    roles.known["known"] = role_of("known", 3);  // the local-first answer
    roles.known["known.us"] = role_of("known", 1);
    host::agent::DnsAnswerCache cache;
    host::agent::DnsOptions options;
    options.regions = {"eu", "us"};
    auto count = [&](const std::string& name) {
        auto q = query(name, 3);
        auto r = host::agent::dns_answer(q.data(), q.size(), false, options, roles.lookup(), &cache);
        REQUIRE(r.rcode == "NOERROR");
        return r.message.size();
    };
    CHECK(count("known.service.us.muster") < count("known.service.muster"));  // 1 record, not 3
    auto q = query("known.service.mars.muster", 4);
    CHECK(host::agent::dns_answer(q.data(), q.size(), false, options, roles.lookup(), &cache).rcode == "NXDOMAIN");
    q = query("_known._tcp.service.us.muster", 5);
    CHECK(host::agent::dns_answer(q.data(), q.size(), false, options, roles.lookup(), &cache).rcode == "NOERROR");
}

TEST_CASE("DNS: a kept reply is rebuilt when another snapshot answers, even one with the same index") {
    // With regions the local-first answer may move to another region's
    // snapshot, whose index counts apart from the local one's.
    Roles roles;
    roles.known["known"] = role_of("known", 3);
    host::agent::DnsAnswerCache cache;
    host::agent::DnsOptions options;
    auto q = query("known.service.muster", 6);
    auto first = host::agent::dns_answer(q.data(), q.size(), false, options, roles.lookup(), &cache);
    REQUIRE(cache.size() == 1);
    roles.known["known"] = role_of("known", 1);  // same index (7), another object
    auto second = host::agent::dns_answer(q.data(), q.size(), false, options, roles.lookup(), &cache);
    CHECK(second.message.size() < first.message.size());
}

TEST_CASE("DNS with regions: a local-first answer from another region is a CNAME to that region's name") {
    auto snap = role_of("known", 1);
    host::agent::DnsOptions options;
    options.regions = {"eu", "us"};
    host::agent::RoleLookup from_us = [&](const std::string&) { return host::agent::RoleFound{snap, "us"}; };
    auto has = [](const std::vector<std::uint8_t>& m, const std::string& wire) {
        return std::search(m.begin(), m.end(), wire.begin(), wire.end()) != m.end();
    };
    auto q = query("known.service.muster", 8);
    auto r = host::agent::dns_answer(q.data(), q.size(), false, options, from_us);
    REQUIRE(r.rcode == "NOERROR");
    CHECK(has(r.message, std::string("\x05known\x07service\x02us", 17)));  // the CNAME's target, and the A's owner
    host::agent::RoleLookup local = [&](const std::string&) { return host::agent::RoleFound{snap, ""}; };
    r = host::agent::dns_answer(q.data(), q.size(), false, options, local);
    CHECK_FALSE(has(r.message, std::string("\x02us", 3)));
}
