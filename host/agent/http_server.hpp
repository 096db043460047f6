// The agent's HTTP listener (Boost.Beast): connections with deadlines, so
// a slow or silent client (slowloris) holds a connection for at most
// `read_timeout` and never a thread; bodies over `body_limit` get a 413.
// Each request goes to HttpApi; blocking queries wait on a timer and
// event streams are written as events arrive, neither holding a thread.
// What a client can make it hold is bounded (docs/security.md):
// connections in all and per client address, each event stream's queue,
// and the work that may wait on a backend (writes on a pool of their own,
// first reads of a role on another), so /healthz and reads of cached roles
// never wait behind them.
#pragma once

#include "http_api.hpp"
#include "work_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace host::agent {

struct HttpLimits {
    std::chrono::milliseconds read_timeout{10000};   // a request's header and body
    std::chrono::milliseconds write_timeout{10000};  // one response or event
    std::size_t body_limit = 64 * 1024;
    std::chrono::milliseconds keepalive{15000};  // an event stream's comment when nothing happens
    int threads = 2;
    std::size_t max_connections = 512;                // open at once; more are closed at accept
    std::size_t max_connections_per_client = 64;      // from one address
    std::size_t stream_queue = 1024;                  // events an event stream holds for a slow reader
    std::size_t write_threads = 2, write_queue = 64;  // writes waiting for a thread
    std::size_t fill_threads = 2, fill_queue = 128;   // first reads of a role waiting for a thread
};

class Connection;

class HttpServer {
public:
    // Listens on `address` (HOST:PORT; port 0 picks one) at once. Throws
    // SetupError(Fault::config) when it cannot.
    HttpServer(const std::string& address, HttpApi& api, HttpLimits limits = {});
    // Stops listening, ends every connection and waits for the threads.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    std::string address() const;  // as bound, with the real port

private:
    friend class Connection;
    void accept();
    // A connection from `peer` may open (counted), or not (at a cap).
    bool admit(const boost::asio::ip::address& peer);
    void release(const boost::asio::ip::address& peer);

    HttpApi& api_;
    HttpLimits limits_;
    boost::asio::io_context ioc_;
    // Keeps the threads running until the pools' last work has posted back.
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy_;
    boost::asio::ip::tcp::acceptor acceptor_;  // on a strand of its own
    boost::asio::steady_timer accept_backoff_;
    std::chrono::steady_clock::time_point accept_error_logged_{};
    std::mutex mu_;  // guards connections_ and per_client_
    std::vector<std::weak_ptr<Connection>> connections_;
    std::map<boost::asio::ip::address, std::size_t> per_client_;
    std::size_t open_ = 0;
    std::vector<std::thread> threads_;
    // Ended first (in the destructor): work in them posts back to ioc_.
    std::unique_ptr<WorkPool> writes_, fills_;
};

}  // namespace host::agent
