#include "http_server.hpp"

#include "listen_address.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>

#include <muster/cpp/validate.hpp>

#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>

namespace host::agent {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Events a subscription hands over from a registry thread to the
// connection's strand. The subscription's callback holds only this, never
// the connection, so the connection (which cancels the subscription) is
// never destroyed inside the callback.
struct EventQueue {
    std::mutex mu;
    std::deque<std::string> frames;
};

}  // namespace

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, HttpApi& api, const HttpLimits& limits)
            : stream_(std::move(socket)), api_(api), limits_(limits), timer_(stream_.get_executor()) {}

    void start() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
    }
    // Ends the connection from any thread (the server is stopping).
    void shut() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
    }

private:
    void read() {
        parser_.emplace();
        parser_->body_limit(limits_.body_limit);
        stream_.expires_after(limits_.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
            ec == net::error::connection_reset)
            return close();
        started_ = std::chrono::steady_clock::now();
        if (ec) {  // a malformed or oversized request: answer, then close
            bool too_big = ec == http::error::body_limit;
            auto status = too_big ? http::status::payload_too_large : http::status::bad_request;
            spdlog::warn("http: {} from {}: {}", static_cast<unsigned>(status), peer(), ec.message());
            Response r{status, 11};
            r.set(http::field::content_type, "application/json");
            r.body() = std::string("{\"error\": \"") + (too_big ? "the body is over the limit" : "malformed request") +
                       "\"}\n";
            r.keep_alive(false);
            r.prepare_payload();
            method_ = "other";
            return write(std::move(r));
        }
        request_ = parser_->release();
        method_ = std::string(request_.method_string());
        Reply reply;
        try {
            reply = api_.handle(request_);
        } catch (const std::exception& e) {
            spdlog::error("http {} {}: {}", muster::sdk::utf8_line(method_),
                          muster::sdk::utf8_line(std::string(request_.target())), e.what());
            reply = {};
            reply.response = {http::status::internal_server_error, request_.version()};
            reply.response.body() = "{\"error\": \"internal error\"}\n";
            reply.response.prepare_payload();
        }
        if (reply.wait) return wait(*reply.wait);
        if (reply.stream) {
            try {  // nothing may escape into the io_context's thread
                return stream(*reply.stream);
            } catch (const std::exception& e) {
                spdlog::error("http event stream: {}", e.what());
                return close();
            }
        }
        write(std::move(reply.response));
    }

    // A blocking query: look at the role's index every poll until it
    // passes `after` or the deadline comes; no thread waits.
    void wait(Reply::Wait w) {
        stream_.expires_never();
        timer_.expires_after(limits_.poll);
        timer_.async_wait([self = shared_from_this(), w](beast::error_code ec) {
            if (ec) return self->close();
            try {  // nothing may escape into the io_context's thread
                bool changed = self->api_.index_of(w.role) > w.after;
                if (!changed && std::chrono::steady_clock::now() < w.deadline) return self->wait(w);
                self->write(self->api_.role_response(w.role, self->request_));
            } catch (const std::exception& e) {
                spdlog::error("http blocking query on {}: {}", w.role, e.what());
                self->close();
            }
        });
    }

    void write(Response r) {
        response_ = std::make_shared<Response>(std::move(r));
        stream_.expires_after(limits_.write_timeout);
        http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->api_.metrics().http_request(self->method_, self->response_->result_int(),
                                              std::chrono::steady_clock::now() - self->started_);
            if (ec || !self->response_->keep_alive()) return self->close();
            self->read();
        });
    }

    // Server-sent events: the header, then each event as it comes, and a
    // comment when nothing happened for a while (so a client that went away
    // is noticed). Ends when the client does.
    void stream(const std::optional<std::string>& role) {
        api_.metrics().http_request(method_, 200, std::chrono::steady_clock::now() - started_);
        queue_ = std::make_shared<EventQueue>();
        queue_->frames.push_back(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            "Connection: close\r\n\r\n");
        std::weak_ptr<Connection> weak = shared_from_this();
        auto queue = queue_;
        auto executor = stream_.get_executor();
        subscription_ = api_.watch(role, [queue, weak, executor](const muster::core::TopologyEvent& e) {
            {
                std::lock_guard lk(queue->mu);
                queue->frames.push_back(HttpApi::event_frame(e));
            }
            net::post(executor, [weak] {
                if (auto self = weak.lock()) self->flush();
            });
        });
        keepalive();
        flush();
    }

    void keepalive() {
        timer_.expires_after(limits_.keepalive);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->closed_) return;
            {
                std::lock_guard lk(self->queue_->mu);
                self->queue_->frames.push_back(": keepalive\n\n");
            }
            self->flush();
            self->keepalive();
        });
    }

    void flush() {
        if (writing_ || closed_) return;
        {
            std::lock_guard lk(queue_->mu);
            if (queue_->frames.empty()) return;
            out_ = std::move(queue_->frames.front());
            queue_->frames.pop_front();
        }
        writing_ = true;
        stream_.expires_after(limits_.write_timeout);
        net::async_write(stream_, net::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->writing_ = false;
            if (ec) return self->close();
            self->flush();
        });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        subscription_.cancel();  // on the strand, never inside the callback
        timer_.cancel();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    std::string peer() {
        beast::error_code ec;
        auto ep = stream_.socket().remote_endpoint(ec);
        return ec ? "?" : ep.address().to_string();
    }

    beast::tcp_stream stream_;
    HttpApi& api_;
    const HttpLimits& limits_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Request request_;
    std::string method_;
    std::chrono::steady_clock::time_point started_;
    std::shared_ptr<Response> response_;
    std::shared_ptr<EventQueue> queue_;
    muster::core::Subscription subscription_;
    std::string out_;
    bool writing_ = false, closed_ = false;
};

HttpServer::HttpServer(const std::string& address, HttpApi& api, HttpLimits limits)
        : api_(api), limits_(limits), acceptor_(ioc_) {
    auto at = listen_address(address, "http");
    tcp::endpoint ep{at.ip, at.port};
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw HostError(kConfig, "http = '" + address + "': cannot listen: " + ec.message());
    accept();
    for (int i = 0; i < limits_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

// Every connection is closed on its strand (cancelling its subscription
// there), after which the threads run out of work and return: nothing is
// left to run while the io_context goes.
HttpServer::~HttpServer() {
    net::dispatch(acceptor_.get_executor(), [this] { acceptor_.close(); });
    {
        std::lock_guard lk(mu_);
        for (auto& weak : connections_)
            if (auto c = weak.lock()) c->shut();
    }
    for (auto& t : threads_) t.join();
}

std::string HttpServer::address() const {
    auto ep = acceptor_.local_endpoint();
    return address_text(ep.address(), ep.port());
}

void HttpServer::accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) return accept();
        auto c = std::make_shared<Connection>(std::move(socket), api_, limits_);
        {
            std::lock_guard lk(mu_);
            std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
            connections_.push_back(c);
        }
        c->start();
        accept();
    });
}

}  // namespace host::agent
