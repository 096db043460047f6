// The agent's DNS listener: UDP and TCP on one address (Boost.Asio), each
// query answered by dns_answer() from the caches on the listener's one
// thread. A role not cached yet is read off that thread (a small pool with
// a bounded queue) and the query answered when the read is done, so a
// made-up name never holds up the answers for known roles; with the queue
// full it is SERVFAIL at once. TCP connections are bounded and closed
// after `idle` without a query.
#pragma once

#include "dns_answer.hpp"
#include "metrics.hpp"
#include "work_pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace host::agent {

// Reads `role` into the cache (through the chain: it may wait on a
// backend). May throw: the query is then answered SERVFAIL.
using RoleFill = std::function<void(const std::string& role)>;

struct DnsLimits {
    std::size_t max_tcp_connections = 128;
    std::size_t fill_threads = 2, fill_queue = 128;  // roles being read for a query, waiting at most
};

class DnsServer {
public:
    // Listens on `address` (HOST:PORT; port 0 picks one; UDP and TCP on
    // the same port) at once. `cached` answers from the cache only.
    // Throws SetupError(Fault::config) when it cannot.
    DnsServer(const std::string& address, DnsOptions options, RoleLookup cached, RoleFill fill, Metrics& metrics,
              DnsLimits limits = {});
    ~DnsServer();
    DnsServer(const DnsServer&) = delete;
    DnsServer& operator=(const DnsServer&) = delete;

    std::string address() const;

    // The reply to a query from the cache; `missing` (when given) is set to
    // a role the query needs that is not cached yet. THREADING: the
    // listener's thread.
    DnsReply answer(const std::vector<std::uint8_t>& query, bool tcp, std::optional<std::string>* missing) const;
    // Reads `role` off the listener's thread, then runs `then` on it; false
    // (nothing started) when too many reads wait already.
    bool fill_then(const std::string& role, std::function<void()> then);
    Metrics& metrics() { return metrics_; }
    // A TCP connection may open (counted), or not (at the cap).
    bool admit_tcp();
    void release_tcp() { --tcp_open_; }

private:
    void receive();
    void accept();

    DnsOptions options_;
    mutable DnsAnswerCache answers_;  // a role's replies, built once per snapshot
    DnsLimits limits_;
    RoleLookup cached_;
    RoleFill fill_;
    Metrics& metrics_;
    std::atomic<std::size_t> tcp_open_{0};  // outlives ioc_: connections count down as it ends
    boost::asio::io_context ioc_;
    boost::asio::ip::udp::socket udp_;
    boost::asio::ip::tcp::acceptor tcp_;
    boost::asio::steady_timer accept_backoff_;
    struct UdpBatch;
    std::unique_ptr<UdpBatch> batch_;  // the listener thread's buffers
    std::unique_ptr<WorkPool> fills_;  // ended first (in the destructor): its work posts to ioc_
    std::thread thread_;
};

}  // namespace host::agent
