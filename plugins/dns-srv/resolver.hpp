// SRV look-ups with ldns against a list of name servers, tried in order:
// a server that does not answer within the timeout, or answers SERVFAIL
// or REFUSED, hands the question to the next.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dns_srv {

struct NameServer {
    std::string host;  // an IPv4 or IPv6 address
    std::uint16_t port = 53;
    std::string text() const;  // "127.0.0.1:53", "[::1]:53"
};

// "10.0.0.10:53, [::1]:5353, 10.0.0.11" -> servers; empty text: the
// nameservers of /etc/resolv.conf (port 53). Throws Error(INVALID_ARGUMENT)
// naming the bad entry.
std::vector<NameServer> parse_servers(const std::string& text);

// One SRV record, its target's addresses found (additional section, or
// asked for).
struct SrvTarget {
    std::string target;  // without the final dot
    std::uint16_t port = 0;
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
    std::vector<std::string> addresses;  // "10.0.0.1", "fd00::1"; sorted
};

struct SrvAnswer {
    bool exists = true;  // false: NXDOMAIN, the name has no records
    std::vector<SrvTarget> targets;
    std::uint32_t ttl = 0;  // least TTL of the records (negative answers: the SOA's)
};

class Resolver {
public:
    Resolver(std::vector<NameServer> servers, std::int64_t timeout_ms);

    // The SRV records of `name`. Throws Error(UNAVAILABLE) when no server
    // answers NOERROR or NXDOMAIN, naming each server's failure.
    SrvAnswer srv(const std::string& name) const;
    // Whether any server answers at all (any rcode): a probe that costs
    // one small query. Throws Error(UNAVAILABLE) when none does.
    void probe() const;

private:
    std::vector<NameServer> servers_;
    std::int64_t timeout_ms_;
};

}  // namespace dns_srv
