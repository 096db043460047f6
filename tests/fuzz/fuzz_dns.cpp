// libFuzzer: any bytes as a DNS query, over UDP and TCP, against a role
// with IPv4, IPv6 and host-name instances. The reply must be a DNS
// message (or nothing) no longer than the transport allows, with the
// query's ID, built afresh or served from the agent's cache of replies.
#include "agent/dns_answer.hpp"

#include <muster/cpp/error.hpp>
#include <muster/cpp/validate.hpp>

#include <cstdint>
#include <cstdlib>

namespace {

std::shared_ptr<const muster::core::RoleSnapshot> snapshot() {
    auto s = std::make_shared<muster::core::RoleSnapshot>();
    s->role = "router";
    s->backend = "fuzz";
    int n = 0;
    for (const char* a : {"10.0.0.1:80", "[::1]:443", "db.example.com:5432", "10.0.0.2:81"}) {
        muster::sdk::Instance i;
        i.id = "00000000-0000-4000-8000-00000000000" + std::to_string(n++);
        i.role = "router";
        i.address = a;
        s->instances.push_back(i);
    }
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto snap = snapshot();
    static const host::agent::DnsOptions options;
    // As the agent's lookup (Registry::resolve) does, an invalid role name throws.
    static const host::agent::RoleLookup lookup = [](const std::string& role) {
        if (!muster::sdk::check_role(role).empty()) throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT, role);
        return role == "router" ? snap : std::make_shared<muster::core::RoleSnapshot>();
    };
    // Without and with the agent's cache of built replies (twice: built, then served).
    static host::agent::DnsAnswerCache cache(64);
    for (host::agent::DnsAnswerCache* c : {static_cast<host::agent::DnsAnswerCache*>(nullptr), &cache, &cache})
        for (bool tcp : {false, true}) {
            auto reply = host::agent::dns_answer(data, size, tcp, options, lookup, c);
            if (reply.message.size() > (tcp ? 65535u : 4096u)) std::abort();
            if (!reply.message.empty() && reply.message.size() < 12) std::abort();
            if (!reply.message.empty() && (reply.message[0] != data[0] || reply.message[1] != data[1])) std::abort();
        }
    return 0;
}
