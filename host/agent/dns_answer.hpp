// The agent's DNS answers, from the role caches, as a function from a
// query message to a reply message (dns_server.cpp does the sockets; the
// fuzzer calls it directly). Messages are parsed and built with ldns
// (NLnet Labs), not by hand. Names (docs/agent.md, "DNS"):
//   <role>.service.<domain>.          A, AAAA (or CNAME for a host name), SRV
//   <role>.service.<region>.<domain>. the same in one region; a local-first
//                                     answer from another region is a CNAME to it
//   _<role>._tcp.service.<domain>.    SRV
//   <hex address>.addr.<domain>.      A, AAAA: the targets of SRV answers
#pragma once

#include <muster/core/role_cache.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace host::agent {

struct DnsOptions {
    std::string domain = "muster";                // lowercase, no trailing dot
    std::vector<std::string> regions;             // names answered as <role>.service.<region>; empty: no regions
    std::uint32_t ttl = 5;                        // seconds, on every record
    std::chrono::milliseconds stale_max{600000};  // a stale answer older than this is SERVFAIL
};

// What a lookup found in the cache: the role's snapshot (nullptr: the role
// cannot be looked up, e.g. the agent caches too many roles already) and,
// with regions, the region whose snapshot it is when a local-first
// question was answered by another region (empty otherwise).
struct RoleFound {
    RoleFound(std::shared_ptr<const muster::core::RoleSnapshot> s = nullptr, std::string r = "")
            : snapshot(std::move(s)), region(std::move(r)) {}
    std::shared_ptr<const muster::core::RoleSnapshot> snapshot;
    std::string region;
};

// Looks a role up in the cache. Called with a valid role name, or with
// regions "ROLE.REGION" for a region of DnsOptions::regions (a role alone:
// the local-first answer). Must not throw.
using RoleLookup = std::function<RoleFound(const std::string& role)>;

struct DnsReply {
    std::vector<std::uint8_t> message;  // empty: send nothing (not even a header could be read)
    std::string rcode;                  // "NOERROR", "NXDOMAIN", ... for metrics
};

// A role's replies, built once per snapshot and handed out until the role
// changes: up to kOrders orders of its records (clients that take the
// first record spread), each reply with the asker's ID and RD bit. Keyed
// by the question as asked, its type and the reply's size limit; only
// roles with instances, asked in lower case, are kept, and the cache is
// bounded (the names come from the network: past max_entries it starts
// over).
// THREADING: every method may be called from any thread.
class DnsAnswerCache {
public:
    static constexpr std::size_t kOrders = 8;
    explicit DnsAnswerCache(std::size_t max_entries = 4096);

    // The next reply for `key`, with `query`'s ID and RD bit; nullopt when
    // there is none, or it was built from another snapshot than the one
    // `lookup` gives for its role now (the role changed, or went stale).
    std::optional<DnsReply> find(const std::string& key, const RoleLookup& lookup, const std::uint8_t* query);
    void put(const std::string& key, const std::string& role,
             const std::shared_ptr<const muster::core::RoleSnapshot>& snapshot, std::vector<DnsReply> orders);
    // Questions whose replies are kept now.
    std::size_t size();

private:
    struct Entry {
        std::string role;
        // The snapshot the replies were built from: a new one (the
        // instances changed, or with regions another region answers) is
        // another object. Weak, so that questions a client makes up cannot
        // pin old snapshots of a big role (only the small object's memory).
        std::weak_ptr<const muster::core::RoleSnapshot> from;
        std::vector<DnsReply> orders;
        std::size_t next = 0;
    };
    std::size_t max_entries_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> entries_;
};

// The reply to `query`. Over UDP (tcp = false) a reply longer than the
// client's EDNS0 size (512 without EDNS0, at most 4096) is truncated: TC
// set and no records, so the client asks again over TCP. With a cache, a
// role's reply is built once per snapshot (a stale snapshot's never).
DnsReply dns_answer(const std::uint8_t* query, std::size_t size, bool tcp, const DnsOptions& options,
                    const RoleLookup& lookup, DnsAnswerCache* cache = nullptr);

}  // namespace host::agent
