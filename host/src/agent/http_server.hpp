// The agent's HTTP listener (Boost.Beast): connections with deadlines, so
// a slow or silent client (slowloris) holds a connection for at most
// `read_timeout` and never a thread; bodies over `body_limit` get a 413.
// Each request goes to HttpApi; blocking queries wait on a timer and
// event streams are written as events arrive, neither holding a thread.
#pragma once

#include "http_api.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
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
    std::chrono::milliseconds poll{25};          // how often a blocking query looks at its role
    std::chrono::milliseconds keepalive{15000};  // an event stream's comment when nothing happens
    int threads = 2;
};

class Connection;

class HttpServer {
public:
    // Listens on `address` (HOST:PORT; port 0 picks one) at once. Throws
    // HostError(kConfig) when it cannot.
    HttpServer(const std::string& address, HttpApi& api, HttpLimits limits = {});
    // Stops listening, ends every connection and waits for the threads.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    std::string address() const;  // as bound, with the real port

private:
    void accept();

    HttpApi& api_;
    HttpLimits limits_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::mutex mu_;  // guards connections_
    std::vector<std::weak_ptr<Connection>> connections_;
    std::vector<std::thread> threads_;
};

}  // namespace host::agent
