#include "address_pattern.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <optional>

namespace host {

namespace {

namespace ip = boost::asio::ip;

struct HostPort {
    std::string host;
    std::string port;  // empty: none
};

// "10.0.0.1:80" -> {10.0.0.1, 80}; "[::1]:80" -> {::1, 80}; "::1" and
// "10.0.0.1" -> no port.
HostPort split(const std::string& text) {
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string::npos) return {text, ""};
        std::string port = close + 1 < text.size() && text[close + 1] == ':' ? text.substr(close + 2) : "";
        return {text.substr(1, close - 1), port};
    }
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return {text, ""};  // none, or a bare IPv6
    return {text.substr(0, colon), text.substr(colon + 1)};
}

std::optional<ip::address> ip_of(const std::string& text) {
    boost::system::error_code ec;
    auto a = ip::make_address(text, ec);
    if (ec) return std::nullopt;
    return a;
}

bool matches(const std::string& pattern, const ip::address& addr, const std::string& port) {
    if (auto slash = pattern.find('/'); slash != std::string::npos) {
        boost::system::error_code ec;
        if (addr.is_v4()) {
            auto net = ip::make_network_v4(pattern, ec);
            if (ec) return false;
            auto host = ip::make_network_v4(addr.to_v4(), net.prefix_length());
            return host.network() == net.network();
        }
        auto net = ip::make_network_v6(pattern, ec);
        if (ec) return false;
        auto host = ip::make_network_v6(addr.to_v6(), net.prefix_length());
        return host.network() == net.network();
    }
    auto p = split(pattern);
    auto want = ip_of(p.host);
    return want && *want == addr && (p.port.empty() || p.port == port);
}

}  // namespace

std::string address_pattern_problem(const std::string& pattern) {
    boost::system::error_code ec;
    if (pattern.find('/') != std::string::npos) {
        ip::make_network_v4(pattern, ec);
        if (!ec) return {};
        ec.clear();
        ip::make_network_v6(pattern, ec);
        return ec ? "'" + pattern + "' is not a network (e.g. 10.0.0.0/8, fd00::/8)" : "";
    }
    auto p = split(pattern);
    bool port_ok =
        p.port.empty() || (p.port.size() <= 5 && p.port.find_first_not_of("0123456789") == std::string::npos);
    if (!ip_of(p.host) || !port_ok)
        return "'" + pattern +
               "' is not an IP address, ADDRESS:PORT or a network (e.g. 10.0.1.5, 10.0.1.5:8080, "
               "10.0.0.0/8)";
    return {};
}

bool address_allowed(const std::vector<std::string>& patterns, const std::string& address) {
    auto hp = split(address);
    auto addr = ip_of(hp.host);
    if (!addr) return false;
    for (const auto& p : patterns)
        if (matches(p, *addr, hp.port)) return true;
    return false;
}

}  // namespace host
