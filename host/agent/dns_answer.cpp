#include "dns_answer.hpp"

#include <muster/core/drain_mark.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/validate.hpp>

#include <ldns/ldns.h>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <optional>
#include <random>

namespace host::agent {

namespace {

using boost::asio::ip::address;

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// "0a000001" for 10.0.0.1, 32 digits for an IPv6 address: SRV targets.
std::string hex_of(const address& a) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    auto add = [&](const auto& bytes) {
        for (unsigned char b : bytes) out += {digits[b >> 4], digits[b & 15]};
    };
    a.is_v4() ? add(a.to_v4().to_bytes()) : add(a.to_v6().to_bytes());
    return out;
}

std::optional<address> from_hex(const std::string& h) {
    if ((h.size() != 8 && h.size() != 32) || h.find_first_not_of("0123456789abcdef") != std::string::npos)
        return std::nullopt;
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(std::stoi(h.substr(2 * i, 2), nullptr, 16)); };
    if (h.size() == 8) return address(boost::asio::ip::address_v4({byte(0), byte(1), byte(2), byte(3)}));
    boost::asio::ip::address_v6::bytes_type b{};
    for (std::size_t i = 0; i < 16; ++i) b[i] = byte(i);
    return address(boost::asio::ip::address_v6(b));
}

// An instance's address as DNS answers it: an IP or a host name, and a port.
struct Endpoint {
    std::string host;
    std::optional<address> ip;
    unsigned port = 0;
};

std::optional<Endpoint> endpoint_of(const std::string& addr) {
    auto colon = addr.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    Endpoint e;
    e.host = addr.substr(0, colon);
    if (e.host.size() > 2 && e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
    try {
        e.port = static_cast<unsigned>(std::stoul(addr.substr(colon + 1)));
    } catch (...) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(e.host, ec);
    if (!ec) e.ip = ip;
    return e;
}

// Passing instances; the warning ones only when none passes; never a
// critical or drained one. In the snapshot's order, turned by `rotation`:
// clients that take the first record spread over the replies' orders.
std::vector<Endpoint> eligible(const muster::core::RoleSnapshot& s, std::size_t rotation) {
    std::vector<Endpoint> passing, warning;
    for (const auto& i : s.instances) {
        if (muster::core::drained(i)) continue;
        auto e = endpoint_of(i.address);
        if (!e) continue;
        if (i.health == MUSTER_HEALTH_PASSING) passing.push_back(*e);
        if (i.health == MUSTER_HEALTH_WARNING) warning.push_back(*e);
    }
    auto& out = passing.empty() ? warning : passing;
    if (!out.empty())
        std::rotate(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(rotation % out.size()), out.end());
    return out;
}

// The records of a reply, as zone-file lines ldns parses.
struct Records {
    std::vector<std::string> answer, authority, additional;
};

bool push(ldns_pkt* p, ldns_pkt_section section, const std::string& line) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) return false;
    return ldns_pkt_push_rr(p, section, rr);
}

std::vector<std::uint8_t> wire(const ldns_pkt* p) {
    std::uint8_t* buf = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&buf, p, &size) != LDNS_STATUS_OK) return {};
    std::vector<std::uint8_t> out(buf, buf + size);
    LDNS_FREE(buf);
    return out;
}

const char* rcode_name(ldns_pkt_rcode r) {
    switch (r) {
    case LDNS_RCODE_NOERROR: return "NOERROR";
    case LDNS_RCODE_FORMERR: return "FORMERR";
    case LDNS_RCODE_SERVFAIL: return "SERVFAIL";
    case LDNS_RCODE_NXDOMAIN: return "NXDOMAIN";
    case LDNS_RCODE_NOTIMPL: return "NOTIMP";
    case LDNS_RCODE_REFUSED: return "REFUSED";
    default: return "OTHER";
    }
}

// A reply to a header that could be read but not the rest.
DnsReply header_only(const std::uint8_t* query, ldns_pkt_rcode rcode) {
    Pkt r(ldns_pkt_new());
    ldns_pkt_set_id(r.get(), static_cast<std::uint16_t>(query[0] << 8 | query[1]));
    ldns_pkt_set_qr(r.get(), true);
    ldns_pkt_set_rcode(r.get(), rcode);
    return {wire(r.get()), rcode_name(rcode)};
}

}  // namespace

DnsReply dns_answer(const std::uint8_t* query, std::size_t size, bool tcp, const DnsOptions& options,
                    const RoleLookup& lookup, DnsAnswerCache* cache) {
    if (size < LDNS_HEADER_SIZE) return {};
    if (query[2] & 0x80) return {};  // a response: never answer one
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, query, size) != LDNS_STATUS_OK) return header_only(query, LDNS_RCODE_FORMERR);
    Pkt q(raw);
    if (ldns_pkt_get_opcode(q.get()) != LDNS_PACKET_QUERY) return header_only(query, LDNS_RCODE_NOTIMPL);
    if (ldns_pkt_qdcount(q.get()) != 1) return header_only(query, LDNS_RCODE_FORMERR);
    const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(q.get()), 0);
    bool edns = ldns_pkt_edns(q.get());
    std::size_t limit = tcp ? 65535 : edns ? std::clamp<std::size_t>(ldns_pkt_edns_udp_size(q.get()), 512, 4096) : 512;
    // A role's replies are built once per snapshot (a stale one is not
    // kept: its age decides). The key is the question as asked, in wire
    // form, so a reply served again costs no text work; only lower-case
    // questions are kept (below), and a resolver that varies its case gets
    // a reply built for it, in its own case.
    const ldns_rdf* owner_rdf = ldns_rr_owner(question);
    std::string key(reinterpret_cast<const char*>(ldns_rdf_data(owner_rdf)), ldns_rdf_size(owner_rdf));
    key += "/" + std::to_string(ldns_rr_get_type(question)) + "/" + std::to_string(ldns_rr_get_class(question)) + "/" +
           std::to_string(limit) + (edns ? "/e" : "/-");
    if (cache)
        if (auto hit = cache->find(key, lookup, query)) return std::move(*hit);
    char* owner = ldns_rdf2str(owner_rdf);
    std::string asked = owner ? owner : "", qname = lower(asked);
    LDNS_FREE(owner);
    ldns_rr_type qtype = ldns_rr_get_type(question);
    std::string ttl = std::to_string(options.ttl), zone = options.domain + ".";
    std::string soa = zone + " " + ttl + " IN SOA ns." + zone + " hostmaster." + zone + " 1 3600 600 86400 " + ttl;

    // What is asked: the zone's apex, an .addr. name, a role, or nothing of ours.
    auto in_zone = qname.size() > zone.size() && qname.compare(qname.size() - zone.size(), zone.size(), zone) == 0 &&
                   qname[qname.size() - zone.size() - 1] == '.';
    bool ours = ldns_rr_get_class(question) == LDNS_RR_CLASS_IN && (in_zone || qname == zone);
    std::vector<std::string> labels;
    std::string rest = in_zone ? qname.substr(0, qname.size() - zone.size() - 1) : "";
    for (std::size_t i = 0; i <= rest.size() && !rest.empty();) {
        auto dot = std::min(rest.find('.', i), rest.size());
        labels.push_back(rest.substr(i, dot - i));
        i = dot + 1;
    }
    // With regions, a region's own answer: <role>.service.<region> (and
    // _<role>._tcp.service.<region>): the region label comes off first.
    std::string region;
    auto service_at = std::find(labels.begin(), labels.end(), "service");
    if (!options.regions.empty() && service_at != labels.end() && service_at + 2 == labels.end() &&
        std::count(options.regions.begin(), options.regions.end(), labels.back())) {
        region = labels.back();
        labels.pop_back();
    }
    std::optional<std::string> role;
    bool srv_name = false;
    if (labels.size() == 2 && labels[1] == "service") role = labels[0];
    if (labels.size() == 3 && labels[2] == "service" && labels[1] == "_tcp" && labels[0].size() > 1 &&
        labels[0][0] == '_') {
        role = labels[0].substr(1);
        srv_name = true;
    }
    if (role && !muster::sdk::check_role(*role).empty()) {  // no role has that name: NXDOMAIN
        role.reset();
        labels.clear();
    }
    std::string role_key = role ? (region.empty() ? *role : *role + "." + region) : "";
    RoleFound found = ours && role ? lookup(role_key) : RoleFound{};
    const auto& snapshot = found.snapshot;
    // Answered by another region: the question's name is a CNAME to that
    // region's own name, which holds the records (the provenance, in DNS).
    std::string holder = qname;  // the name the records are under
    std::string alias;
    if (!found.region.empty() && region.empty()) {
        holder = (srv_name ? "_" + *role + "._tcp" : *role) + ".service." + found.region + "." + zone;
        alias = qname + " " + ttl + " IN CNAME " + holder;
    }

    // Kept: replies of roles that have instances, asked in lower case. Names
    // a client makes up (empty roles), and case variants of real ones (0x20
    // resolvers, or a client minting keys), are built each time and never
    // push the real roles' replies out of the bounded cache.
    bool cacheable = cache && snapshot && !snapshot->stale && !snapshot->instances.empty() && asked == qname;

    bool want_a = qtype == LDNS_RR_TYPE_A || qtype == LDNS_RR_TYPE_ANY;
    bool want_aaaa = qtype == LDNS_RR_TYPE_AAAA || qtype == LDNS_RR_TYPE_ANY;
    bool want_srv = qtype == LDNS_RR_TYPE_SRV;
    auto address_record = [&](const std::string& name, const address& ip) {
        return name + " " + ttl + (ip.is_v4() ? " IN A " : " IN AAAA ") + ip.to_string();
    };
    // The reply with the role's records turned by `rotation`.
    std::size_t targets_count = 0;
    auto reply = [&](std::size_t rotation) -> DnsReply {
        ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;
        Records rec;
        if (!ours) {
            rcode = LDNS_RCODE_REFUSED;  // not ours, and no recursion
        } else if (rest.empty()) {
            if (qtype == LDNS_RR_TYPE_SOA)
                rec.answer.push_back(soa);
            else
                rec.authority.push_back(soa);  // NODATA at the apex
        } else if (labels.size() == 2 && labels[1] == "addr") {
            auto ip = from_hex(labels[0]);
            if (!ip) {
                rcode = LDNS_RCODE_NXDOMAIN;
            } else if ((ip->is_v4() && want_a) || (ip->is_v6() && want_aaaa)) {
                rec.answer.push_back(address_record(qname, *ip));
            }
        } else if (role) {
            std::int64_t age = snapshot ? muster::sdk::system_ms() - snapshot->as_of_ms : 0;
            if (!snapshot || (snapshot->stale && age > options.stale_max.count())) {
                rcode = LDNS_RCODE_SERVFAIL;
            } else if (auto targets = eligible(*snapshot, rotation); targets.empty()) {
                rcode = LDNS_RCODE_NXDOMAIN;
            } else {
                targets_count = targets.size();
                if (!alias.empty()) rec.answer.push_back(alias);
                bool any_ip = std::any_of(targets.begin(), targets.end(), [](const Endpoint& e) { return e.ip; });
                for (const auto& t : targets) {
                    if (want_srv) {
                        std::string target = t.ip ? hex_of(*t.ip) + ".addr." + zone : t.host + ".";
                        rec.answer.push_back(holder + " " + ttl + " IN SRV 1 1 " + std::to_string(t.port) + " " +
                                             target);
                        if (t.ip) rec.additional.push_back(address_record(target, *t.ip));
                    } else if (!srv_name && t.ip && ((t.ip->is_v4() && want_a) || (t.ip->is_v6() && want_aaaa))) {
                        rec.answer.push_back(address_record(holder, *t.ip));
                    }
                }
                // A host name is answered as a CNAME to it, when no
                // instance has an IP (a name cannot hold both).
                if (!srv_name && !want_srv && !any_ip && (want_a || want_aaaa))
                    rec.answer.push_back(holder + " " + ttl + " IN CNAME " + targets.front().host + ".");
            }
        } else {
            rcode = LDNS_RCODE_NXDOMAIN;
        }
        if (ours && (rcode == LDNS_RCODE_NXDOMAIN || (rcode == LDNS_RCODE_NOERROR && rec.answer.empty())) &&
            rec.authority.empty())
            rec.authority.push_back(soa);  // negative answers carry the SOA (RFC 2308)

        auto build = [&](bool with_records) {
            Pkt r(ldns_pkt_new());
            ldns_pkt_set_id(r.get(), ldns_pkt_id(q.get()));
            ldns_pkt_set_qr(r.get(), true);
            ldns_pkt_set_aa(r.get(), rcode != LDNS_RCODE_REFUSED);
            ldns_pkt_set_rd(r.get(), ldns_pkt_rd(q.get()));
            ldns_pkt_set_ra(r.get(), false);
            ldns_pkt_set_rcode(r.get(), rcode);
            ldns_pkt_push_rr(r.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
            if (edns) ldns_pkt_set_edns_udp_size(r.get(), 4096);
            if (with_records) {
                for (const auto& l : rec.answer) push(r.get(), LDNS_SECTION_ANSWER, l);
                for (const auto& l : rec.authority) push(r.get(), LDNS_SECTION_AUTHORITY, l);
                for (const auto& l : rec.additional) push(r.get(), LDNS_SECTION_ADDITIONAL, l);
            } else {
                ldns_pkt_set_tc(r.get(), true);
            }
            return wire(r.get());
        };
        auto out = build(true);
        if (out.size() > limit) out = build(false);
        return {std::move(out), rcode_name(rcode)};
    };

    thread_local std::mt19937 rng{std::random_device{}()};
    if (!cacheable) return reply(rng());
    // Up to kOrders orders of the records, each built once, handed out in turn.
    std::vector<DnsReply> orders{reply(0)};
    for (std::size_t k = 1; k < std::min(targets_count, DnsAnswerCache::kOrders); ++k) orders.push_back(reply(k));
    cache->put(key, role_key, snapshot, orders);
    return std::move(orders[rng() % orders.size()]);
}

DnsAnswerCache::DnsAnswerCache(std::size_t max_entries) : max_entries_(max_entries) {}

std::optional<DnsReply> DnsAnswerCache::find(const std::string& key, const RoleLookup& lookup,
                                             const std::uint8_t* query) {
    std::string role;
    std::shared_ptr<const muster::core::RoleSnapshot> built_from;
    {
        std::lock_guard lk(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end()) return std::nullopt;
        role = it->second.role;
        built_from = it->second.from.lock();
    }
    // Still the role's answer? (Outside the lock: the lookup may fill a cache.)
    auto now = lookup(role).snapshot;
    if (!now || now != built_from || now->stale) return std::nullopt;
    std::lock_guard lk(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.from.lock() != built_from) return std::nullopt;
    Entry& e = it->second;
    DnsReply out = e.orders[e.next++ % e.orders.size()];
    // This query's ID and RD bit; the rest is the same for every asker.
    out.message[0] = query[0];
    out.message[1] = query[1];
    out.message[2] = static_cast<std::uint8_t>((out.message[2] & ~1u) | (query[2] & 1u));
    return out;
}

void DnsAnswerCache::put(const std::string& key, const std::string& role,
                         const std::shared_ptr<const muster::core::RoleSnapshot>& snapshot,
                         std::vector<DnsReply> orders) {
    std::lock_guard lk(mu_);
    if (entries_.size() >= max_entries_ && !entries_.count(key))
        entries_.clear();  // names a client made up: start over
    entries_[key] = Entry{role, snapshot, std::move(orders), 0};
}

std::size_t DnsAnswerCache::size() {
    std::lock_guard lk(mu_);
    return entries_.size();
}

}  // namespace host::agent
