// HOST:PORT (as settings.cpp checked it) as an IP address and a port, for
// the agent's listeners.
#pragma once

#include "compose/setup_error.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>

namespace host::agent {

struct ListenAddress {
    boost::asio::ip::address ip;
    unsigned short port = 0;
};

// Throws SetupError(Fault::config) naming `key` when the host is not an IP address.
inline ListenAddress listen_address(const std::string& address, const std::string& key) {
    auto colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(host, ec);
    if (ec) throw SetupError(Fault::config, key + " = '" + address + "': '" + host + "' is not an IP address");
    return {ip, static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
}

// "[::1]:8600" or "127.0.0.1:8600".
inline std::string address_text(const boost::asio::ip::address& ip, unsigned short port) {
    return (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" + std::to_string(port);
}

}  // namespace host::agent
