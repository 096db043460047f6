#include "resolver.hpp"

#include "comma_list.hpp"

#include <muster/cpp/error.hpp>

#include <arpa/inet.h>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>

// Last: ldns's headers define `bool` for C, which breaks a standard header after them.
#include <ldns/ldns.h>

namespace dns_srv {

namespace {

using muster::sdk::Error;

struct PacketFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct ResolverFree {
    void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct ListFree {
    void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
using Packet = std::unique_ptr<ldns_pkt, PacketFree>;
using RrList = std::unique_ptr<ldns_rr_list, ListFree>;

bool is_ipv4(const std::string& h) {
    in_addr a{};
    return inet_pton(AF_INET, h.c_str(), &a) == 1;
}
bool is_ipv6(const std::string& h) {
    in6_addr a{};
    return inet_pton(AF_INET6, h.c_str(), &a) == 1;
}

// rdf -> text without a final dot ("router.prod.svc.", "10.0.0.1").
std::string text_of(const ldns_rdf* rdf) {
    char* raw = ldns_rdf2str(rdf);
    std::string s = raw ? raw : "";
    free(raw);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// One question to one server, within the timeout: the answer, or why not.
Packet ask(const NameServer& ns, const std::string& name, ldns_rr_type type, std::int64_t timeout_ms,
           std::string& why) {
    std::unique_ptr<ldns_resolver, ResolverFree> res(ldns_resolver_new());
    std::unique_ptr<ldns_rdf, RdfFree> addr(
        ldns_rdf_new_frm_str(is_ipv4(ns.host) ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, ns.host.c_str()));
    std::unique_ptr<ldns_rdf, RdfFree> qname(ldns_dname_new_frm_str(name.c_str()));
    if (!res || !addr || !qname) {
        why = "cannot build the query";
        return nullptr;
    }
    ldns_resolver_push_nameserver(res.get(), addr.get());  // copies it
    ldns_resolver_set_port(res.get(), ns.port);
    timeval tv{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    ldns_resolver_set_timeout(res.get(), tv);
    ldns_resolver_set_retry(res.get(), 1);  // one try per server: the next server is the retry
    ldns_resolver_set_retrans(res.get(),
                              static_cast<std::uint8_t>(std::clamp<std::int64_t>(timeout_ms / 1000, 1, 255)));
    ldns_resolver_set_recursive(res.get(), true);  // a recursive resolver (kube-dns) needs RD
    ldns_resolver_set_fallback(res.get(), true);   // a truncated answer is asked again over TCP
    ldns_resolver_set_edns_udp_size(res.get(), 4096);
    ldns_resolver_set_random(res.get(), false);
    ldns_pkt* raw = nullptr;
    ldns_status st = ldns_resolver_send(&raw, res.get(), qname.get(), type, LDNS_RR_CLASS_IN, LDNS_RD);
    Packet p(raw);
    if (st != LDNS_STATUS_OK || !p) {
        why = ns.text() + ": " + (st == LDNS_STATUS_OK ? "no answer" : ldns_get_errorstr_by_id(st));
        return nullptr;
    }
    return p;
}

std::uint32_t least_ttl(std::uint32_t a, std::uint32_t b) { return a == 0 ? b : std::min(a, b); }

// The addresses of `target` of `type` among `list` (owner compared without case).
void collect(const ldns_rr_list* list, const std::string& target, std::vector<std::string>& out, std::uint32_t& ttl) {
    if (!list) return;
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(list, i);
        if (lower(text_of(ldns_rr_owner(rr))) != lower(target) || ldns_rr_rd_count(rr) < 1) continue;
        out.push_back(text_of(ldns_rr_rdf(rr, 0)));
        ttl = least_ttl(ttl, ldns_rr_ttl(rr));
    }
}

}  // namespace

std::string NameServer::text() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::vector<NameServer> parse_servers(const std::string& text) {
    std::vector<NameServer> out;
    if (trimmed(text).empty()) {
        ldns_resolver* r = nullptr;
        if (ldns_resolver_new_frm_file(&r, nullptr) != LDNS_STATUS_OK || !r)
            throw Error(MUSTER_INVALID_ARGUMENT,
                        "option 'servers' is empty and /etc/resolv.conf names no server: give servers = "
                        "\"10.0.0.10:53\"");
        std::unique_ptr<ldns_resolver, ResolverFree> res(r);
        for (std::size_t i = 0; i < ldns_resolver_nameserver_count(r); ++i)
            out.push_back({text_of(ldns_resolver_nameservers(r)[i]), 53});
        if (out.empty())
            throw Error(MUSTER_INVALID_ARGUMENT,
                        "/etc/resolv.conf names no server: give option servers, e.g. \"10.0.0.10:53\"");
        return out;
    }
    for (const auto& entry : comma_list(text)) {
        NameServer ns;
        std::string port;
        if (entry.front() == '[') {  // [v6]:port
            auto close = entry.find(']');
            ns.host = close == std::string::npos ? "" : entry.substr(1, close - 1);
            if (close != std::string::npos && close + 1 < entry.size()) {
                if (entry[close + 1] != ':') ns.host.clear();
                port = entry.substr(close + 2);
            }
        } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
            ns.host = entry.substr(0, entry.find(':'));
            port = entry.substr(entry.find(':') + 1);
        } else {
            ns.host = entry;  // v4 without a port, or a bare v6
        }
        bool port_ok = port.empty() || (port.size() <= 5 && std::all_of(port.begin(), port.end(), ::isdigit) &&
                                        std::stoi(port) >= 1 && std::stoi(port) <= 65535);
        if (!(is_ipv4(ns.host) || is_ipv6(ns.host)) || !port_ok)
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'servers': '" + entry +
                                                     "' is not an IP address with an optional port, e.g. "
                                                     "10.0.0.10:53 or [fd00::10]:53");
        if (!port.empty()) ns.port = static_cast<std::uint16_t>(std::stoi(port));
        out.push_back(ns);
    }
    if (out.empty()) throw Error(MUSTER_INVALID_ARGUMENT, "option 'servers' names no server");
    return out;
}

Resolver::Resolver(std::vector<NameServer> servers, std::int64_t timeout_ms)
        : servers_(std::move(servers)), timeout_ms_(timeout_ms) {}

SrvAnswer Resolver::srv(const std::string& name) const {
    std::string failures;
    for (const auto& ns : servers_) {
        std::string why;
        Packet p = ask(ns, name, LDNS_RR_TYPE_SRV, timeout_ms_, why);
        if (p) {
            ldns_pkt_rcode rc = ldns_pkt_get_rcode(p.get());
            if (rc == LDNS_RCODE_NOERROR || rc == LDNS_RCODE_NXDOMAIN) {
                SrvAnswer a;
                a.exists = rc == LDNS_RCODE_NOERROR;
                RrList srvs(ldns_pkt_rr_list_by_type(p.get(), LDNS_RR_TYPE_SRV, LDNS_SECTION_ANSWER));
                RrList extra_a(ldns_pkt_rr_list_by_type(p.get(), LDNS_RR_TYPE_A, LDNS_SECTION_ADDITIONAL));
                RrList extra_aaaa(ldns_pkt_rr_list_by_type(p.get(), LDNS_RR_TYPE_AAAA, LDNS_SECTION_ADDITIONAL));
                for (std::size_t i = 0; srvs && i < ldns_rr_list_rr_count(srvs.get()); ++i) {
                    const ldns_rr* rr = ldns_rr_list_rr(srvs.get(), i);
                    if (ldns_rr_rd_count(rr) < 4) continue;
                    SrvTarget t;
                    t.priority = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
                    t.weight = ldns_rdf2native_int16(ldns_rr_rdf(rr, 1));
                    t.port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
                    t.target = text_of(ldns_rr_rdf(rr, 3));
                    a.ttl = least_ttl(a.ttl, ldns_rr_ttl(rr));
                    if (t.port == 0 || t.target.empty()) continue;  // "." target: the service is not here
                    collect(extra_a.get(), t.target, t.addresses, a.ttl);
                    collect(extra_aaaa.get(), t.target, t.addresses, a.ttl);
                    // Not in the additional section: asked for (A, then AAAA).
                    for (ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
                        if (!t.addresses.empty()) break;
                        std::string ignored;
                        if (Packet q = ask(ns, t.target, type, timeout_ms_, ignored)) {
                            RrList found(ldns_pkt_rr_list_by_type(q.get(), type, LDNS_SECTION_ANSWER));
                            collect(found.get(), t.target, t.addresses, a.ttl);
                        }
                    }
                    std::sort(t.addresses.begin(), t.addresses.end());
                    a.targets.push_back(std::move(t));
                }
                if (!a.exists || a.targets.empty()) {  // negative caching: the SOA's minimum (RFC 2308)
                    RrList soa(ldns_pkt_rr_list_by_type(p.get(), LDNS_RR_TYPE_SOA, LDNS_SECTION_AUTHORITY));
                    if (soa && ldns_rr_list_rr_count(soa.get()) > 0) {
                        const ldns_rr* rr = ldns_rr_list_rr(soa.get(), 0);
                        std::uint32_t ttl = ldns_rr_ttl(rr);
                        if (ldns_rr_rd_count(rr) >= 7) ttl = std::min(ttl, ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)));
                        a.ttl = least_ttl(a.ttl, ttl);
                    }
                }
                return a;
            }
            char* rcode = ldns_pkt_rcode2str(rc);
            why = ns.text() + ": " + (rcode ? rcode : "error");
            free(rcode);
        }
        failures += (failures.empty() ? "" : "; ") + why;
    }
    throw Error(MUSTER_UNAVAILABLE, "no DNS server answered for " + name + " (" + failures + ")");
}

void Resolver::probe() const {
    std::string failures;
    for (const auto& ns : servers_) {
        std::string why;
        if (ask(ns, ".", LDNS_RR_TYPE_SOA, timeout_ms_, why)) return;
        failures += (failures.empty() ? "" : "; ") + why;
    }
    throw Error(MUSTER_UNAVAILABLE, "no DNS server answers (" + failures + ")");
}

}  // namespace dns_srv
