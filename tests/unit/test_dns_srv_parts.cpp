// dns-srv's server-free parts: the role map and the server list (the
// look-ups themselves run against NSD in e2e.dns_srv).
#include "../../plugins/dns-srv/resolver.hpp"
#include "../../plugins/dns-srv/role_map.hpp"

#include <muster/cpp/error.hpp>

#include <catch2/catch.hpp>

using dns_srv::RoleMap;

namespace {

std::string refusal(const std::function<void()>& f) {
    try {
        f();
    } catch (const muster::sdk::Error& e) {
        CHECK(e.status() == MUSTER_INVALID_ARGUMENT);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("dns-srv: the role map names each role's SRV name, and a template the others") {
    RoleMap map(" router=_grpc._tcp.router.prod.svc.cluster.local , billing=_http._tcp.billing.prod.svc.cluster.local.",
                "");
    CHECK(map.name_of("router") == "_grpc._tcp.router.prod.svc.cluster.local");
    CHECK(map.name_of("billing") == "_http._tcp.billing.prod.svc.cluster.local.");
    CHECK_FALSE(map.name_of("writer"));
    CHECK(map.named_roles() == std::vector<std::string>{"billing", "router"});

    RoleMap both("router=_grpc._tcp.router.x", "_http._tcp.{role}.prod.svc.cluster.local");
    CHECK(both.name_of("router") == "_grpc._tcp.router.x");  // the map wins
    CHECK(both.name_of("writer") == "_http._tcp.writer.prod.svc.cluster.local");
    CHECK(both.named_roles() == std::vector<std::string>{"router"});  // a template's roles cannot be listed
    std::string label(60, 'a');
    RoleMap long_names("", "_http._tcp.{role}." + label + "." + label + "." + label);
    CHECK_FALSE(long_names.name_of(std::string(60, 'r')));  // too long a name: not held
}

TEST_CASE("dns-srv: bad role maps and templates are refused naming the entry") {
    CHECK_THAT(refusal([] { RoleMap("router", ""); }), Catch::Contains("'router' is not ROLE=NAME"));
    CHECK_THAT(refusal([] { RoleMap("Router=_a._tcp.x", ""); }), Catch::Contains("option 'roles'"));
    CHECK_THAT(refusal([] { RoleMap("router=a..b", ""); }), Catch::Contains("label"));
    CHECK_THAT(refusal([] { RoleMap("router=a b", ""); }), Catch::Contains("'a b'"));
    CHECK_THAT(refusal([] { RoleMap("r=_a._tcp.x, r=_b._tcp.x", ""); }), Catch::Contains("mapped twice"));
    CHECK_THAT(refusal([] { RoleMap("", "_http._tcp.svc"); }), Catch::Contains("has no {role}"));
    CHECK(RoleMap("", "").empty());
}

TEST_CASE("dns-srv: name servers are IP[:port], IPv6 in brackets, port 53 by default") {
    auto s = dns_srv::parse_servers("10.0.0.10, 127.0.0.1:5353, [::1]:5300, fd00::10");
    REQUIRE(s.size() == 4);
    CHECK(s[0].text() == "10.0.0.10:53");
    CHECK(s[1].text() == "127.0.0.1:5353");
    CHECK(s[2].text() == "[::1]:5300");
    CHECK(s[3].text() == "[fd00::10]:53");
    for (const char* bad : {"dns.example:53", "10.0.0.1:0", "10.0.0.1:65536", "[::1]x", "10.0.0.1:5x", ","})
        CHECK_FALSE(refusal([&] { dns_srv::parse_servers(bad); }).empty());
}
