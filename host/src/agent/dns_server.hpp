// The agent's DNS listener: UDP and TCP on one address (Boost.Asio), each
// query answered by dns_answer() from the caches, never by a backend call.
// A TCP connection is closed after `idle` without a query.
#pragma once

#include "dns_answer.hpp"
#include "metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace host::agent {

class DnsServer {
public:
    // Listens on `address` (HOST:PORT; port 0 picks one; UDP and TCP on
    // the same port) at once. Throws HostError(kConfig) when it cannot.
    DnsServer(const std::string& address, DnsOptions options, RoleLookup lookup, Metrics& metrics);
    ~DnsServer();
    DnsServer(const DnsServer&) = delete;
    DnsServer& operator=(const DnsServer&) = delete;

    std::string address() const;

private:
    void receive();
    void accept();

    DnsOptions options_;
    RoleLookup lookup_;
    Metrics& metrics_;
    boost::asio::io_context ioc_;
    boost::asio::ip::udp::socket udp_;
    boost::asio::ip::tcp::acceptor tcp_;
    boost::asio::ip::udp::endpoint from_;
    std::array<std::uint8_t, 4096> in_{};
    std::thread thread_;
};

}  // namespace host::agent
