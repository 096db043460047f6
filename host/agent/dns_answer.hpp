// The agent's DNS answers, from the role caches, as a function from a
// query message to a reply message (dns_server.cpp does the sockets; the
// fuzzer calls it directly). Messages are parsed and built with ldns
// (NLnet Labs), not by hand. Names (docs/agent.md, "DNS"):
//   <role>.service.<domain>.          A, AAAA (or CNAME for a host name), SRV
//   _<role>._tcp.service.<domain>.    SRV
//   <hex address>.addr.<domain>.      A, AAAA: the targets of SRV answers
#pragma once

#include <muster/core/role_cache.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace host::agent {

struct DnsOptions {
    std::string domain = "muster";                // lowercase, no trailing dot
    std::uint32_t ttl = 5;                        // seconds, on every record
    std::chrono::milliseconds stale_max{600000};  // a stale answer older than this is SERVFAIL
};

// A role's snapshot from the cache (nullptr: the role cannot be looked up,
// e.g. the agent caches too many roles already). Called with valid role
// names only. Must not throw.
using RoleLookup = std::function<std::shared_ptr<const muster::core::RoleSnapshot>(const std::string& role)>;

struct DnsReply {
    std::vector<std::uint8_t> message;  // empty: send nothing (not even a header could be read)
    std::string rcode;                  // "NOERROR", "NXDOMAIN", ... for metrics
};

// The reply to `query`. Over UDP (tcp = false) a reply longer than the
// client's EDNS0 size (512 without EDNS0, at most 4096) is truncated: TC
// set and no records, so the client asks again over TCP.
DnsReply dns_answer(const std::uint8_t* query, std::size_t size, bool tcp, const DnsOptions& options,
                    const RoleLookup& lookup);

}  // namespace host::agent
