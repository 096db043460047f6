#include "http_server.hpp"

#include "event_queue.hpp"
#include "listen_address.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>

#include <muster/cpp/validate.hpp>

#include <muster/core/log.hpp>

#include <atomic>
#include <mutex>

namespace host::agent {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, HttpServer& server, net::ip::address peer)
            : stream_(std::move(socket)),
              server_(server),
              api_(server.api_),
              limits_(server.limits_),
              peer_(std::move(peer)),
              timer_(stream_.get_executor()) {}
    ~Connection() { server_.release(peer_); }

    void start() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
    }
    // True while it waits for a request (none under way): what is closed
    // first to make room at the connection cap.
    bool idle() const { return idle_.load(std::memory_order_relaxed); }
    // Ends the connection from any thread (the server is stopping).
    void shut() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
    }

private:
    void read() {
        idle_ = true;
        parser_.emplace();
        parser_->body_limit(limits_.body_limit);
        stream_.expires_after(limits_.read_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        idle_ = false;
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
            ec == net::error::connection_reset)
            return close();
        started_ = std::chrono::steady_clock::now();
        if (ec) {  // a malformed or oversized request: answer, then close
            bool too_big = ec == http::error::body_limit;
            auto status = too_big ? http::status::payload_too_large : http::status::bad_request;
            muster::core::log::warn("http: {} from {}: {}", static_cast<unsigned>(status), peer_.to_string(),
                                    ec.message());
            method_ = "other";
            return write(plain_error(status, too_big ? "the body is over the limit" : "malformed request", false));
        }
        request_ = parser_->release();
        method_ = std::string(request_.method_string());
        handle(true);
    }

    // Hands the request to the API; `may_fill`: a role not cached yet may
    // still be read (once per request).
    void handle(bool may_fill) {
        Reply reply;
        try {
            reply = api_.handle(request_);
        } catch (const std::exception& e) {
            muster::core::log::error("http {} {}: {}", muster::sdk::utf8_line(method_),
                                     muster::sdk::utf8_line(std::string(request_.target())), e.what());
            return write(plain_error(http::status::internal_server_error, "internal error", request_.keep_alive()));
        }
        if (reply.fill) {
            if (!may_fill) return write(busy("the role could not be cached; try again"));
            return off_thread(*server_.fills_, [self = shared_from_this(), role = *reply.fill] {
                auto refused = self->api_.fill(role, self->request_);
                net::post(self->stream_.get_executor(), [self, refused] {
                    if (refused) return self->write(*refused);
                    self->handle(false);
                });
            });
        }
        if (reply.work)
            return off_thread(*server_.writes_, [self = shared_from_this(), work = std::move(reply.work)] {
                Response r = work();
                net::post(self->stream_.get_executor(),
                          [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
            });
        if (reply.wait) return wait(*reply.wait);
        if (reply.stream) {
            try {  // nothing may escape into the io_context's thread
                return stream(*reply.stream);
            } catch (const std::exception& e) {
                muster::core::log::error("http event stream: {}", e.what());
                return write(busy(e.what()));
            }
        }
        write(std::move(reply.response));
    }

    // Runs `job` on `pool`, or answers 503 at once when its queue is full.
    template <class Job>
    void off_thread(WorkPool& pool, Job job) {
        if (!pool.post(std::move(job))) write(busy("the agent is busy; try again"));
    }

    Response plain_error(http::status status, const std::string& message, bool keep_alive) {
        Response r{status, request_.version() ? request_.version() : 11u};
        r.set(http::field::content_type, "application/json");
        r.body() = "{\"error\": \"" + message + "\"}\n";
        r.keep_alive(keep_alive);
        r.prepare_payload();
        return r;
    }
    Response busy(const std::string& why) {
        auto r = plain_error(http::status::service_unavailable, muster::sdk::utf8_line(why), request_.keep_alive());
        r.set(http::field::retry_after, "1");
        return r;
    }

    // A blocking query: answered when the role's index passes `after`
    // (the cache wakes it, on a publishing thread, which only posts here)
    // or when the deadline comes; no thread waits and nothing polls. A
    // client that leaves meanwhile (its socket turns readable at end of
    // stream) ends it.
    void wait(const Reply::Wait& w) {
        stream_.expires_never();
        watch_departure();
        waiting_for_ = w;
        std::uint64_t query = ++queries_;  // a late wake of an earlier query answers nothing
        timer_.expires_at(w.deadline);
        timer_.async_wait([self = shared_from_this(), query](beast::error_code ec) {
            if (ec != net::error::operation_aborted) self->answer_wait(query);
        });
        std::weak_ptr<Connection> weak = shared_from_this();
        auto executor = stream_.get_executor();
        try {
            cancel_wait_ = w.arm([weak, executor, query] {
                net::post(executor, [weak, query] {
                    if (auto self = weak.lock()) self->answer_wait(query);
                });
            });
        } catch (const std::exception& e) {  // the role's cache could not be kept (every cache is in use)
            muster::core::log::warn("http blocking query on {}: {}", w.what, e.what());
            close();
        }
    }

    // The answer to a blocking query, once: on its change or its deadline.
    void answer_wait(std::uint64_t query) {
        if (closed_ || !waiting_for_ || query != queries_) return;
        Reply::Wait w = std::move(*waiting_for_);
        waiting_for_.reset();
        withdraw_wait();
        timer_.cancel();
        stream_.socket().cancel();  // the departure watch
        try {                       // nothing may escape into the io_context's thread
            write(w.answer());
        } catch (const std::exception& e) {
            muster::core::log::error("http blocking query on {}: {}", w.what, e.what());
            close();
        }
    }

    // A client that sends nothing more while it waits for an answer (a
    // blocking query, an event stream) and whose socket turns readable has
    // left (end of stream): closed now, not at the next write.
    void watch_departure() {
        stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
            beast::error_code ignored;
            if (!ec && self->stream_.socket().available(ignored) == 0) self->close();
        });
    }

    void write(Response r) {
        if (closed_) return;
        response_ = std::make_shared<Response>(std::move(r));
        stream_.expires_after(limits_.write_timeout);
        http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->api_.metrics().http_request(self->method_, self->response_->result_int(),
                                              std::chrono::steady_clock::now() - self->started_);
            if (ec || !self->response_->keep_alive()) return self->close();
            self->read();
        });
    }

    // Server-sent events: the header, the state the stream starts from (an
    // `added` per instance, written from the shared snapshot a few at a
    // time, then `synced`), then each event as it comes, and a comment when
    // nothing happened for a while (so a client that went away is
    // noticed). Ends when the client does. A reader too slow for
    // stream_queue events gets a resync event and is closed, so it lists
    // the role again rather than this process holding what it missed.
    void stream(const std::optional<std::string>& role) {
        api_.metrics().http_request(method_, 200, std::chrono::steady_clock::now() - started_);
        // The subscription's callback holds only the queue, never the
        // connection, so the connection (which cancels the subscription)
        // is never destroyed inside the callback.
        queue_ = std::make_shared<EventQueue>(limits_.stream_queue);
        std::weak_ptr<Connection> weak = shared_from_this();
        auto queue = queue_;
        auto executor = stream_.get_executor();
        subscription_ = api_.watch(
            role,
            [queue, weak, executor](const muster::core::TopologyEvent& e) {
                if (!queue->push(HttpApi::event_frame(e.type, e.instance, e.backend)))
                    return;  // overflowed already: closing
                net::post(executor, [weak] {
                    if (auto self = weak.lock()) self->flush();
                });
            },
            start_);
        starting_ = true;
        watch_departure();
        keepalive();
        flush();
    }

    // The next text to write, if any: first the header and the starting
    // state, then the queue's frames.
    std::optional<EventQueue::Frame> next_frame() {
        if (!starting_) return queue_->pop();
        constexpr std::size_t kChunk = 256;  // instances per write
        std::string text;
        if (!header_sent_) {
            header_sent_ = true;
            text =
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                "Connection: close\r\n\r\n";
        }
        std::size_t size = start_ ? start_->instances.size() : 0;
        for (std::size_t end = std::min(size, start_at_ + kChunk); start_at_ < end; ++start_at_)
            text += HttpApi::event_frame(MUSTER_EVENT_ADDED, start_->instances[start_at_], start_->backend);
        if (start_at_ == size) {
            text += HttpApi::synced_frame(start_.get());
            starting_ = false;
            start_.reset();
        }
        return EventQueue::Frame{std::move(text), false};
    }

    void keepalive() {
        timer_.expires_after(limits_.keepalive);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->closed_) return;
            self->queue_->push(": keepalive\n\n");
            self->flush();
            self->keepalive();
        });
    }

    void flush() {
        if (writing_ || closed_) return;
        auto frame = next_frame();
        if (!frame) return;
        out_ = std::move(frame->text);
        bool last = frame->last;
        writing_ = true;
        stream_.expires_after(limits_.write_timeout);
        net::async_write(stream_, net::buffer(out_),
                         [self = shared_from_this(), last](beast::error_code ec, std::size_t) {
                             self->writing_ = false;
                             if (ec || last) return self->close();
                             self->flush();
                         });
    }

    void withdraw_wait() {
        if (cancel_wait_) cancel_wait_();
        cancel_wait_ = nullptr;
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        subscription_.cancel();  // on the strand, never inside the callback
        withdraw_wait();
        timer_.cancel();
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    HttpServer& server_;
    HttpApi& api_;
    const HttpLimits& limits_;
    net::ip::address peer_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Request request_;
    std::string method_;
    std::chrono::steady_clock::time_point started_;
    std::shared_ptr<Response> response_;
    std::shared_ptr<EventQueue> queue_;
    // An event stream's starting state, written before the queue's frames.
    std::shared_ptr<const muster::core::RoleSnapshot> start_;
    std::size_t start_at_ = 0;  // the next of start_'s instances to write
    bool starting_ = false, header_sent_ = false;
    muster::core::Subscription subscription_;
    std::function<void()> cancel_wait_;       // withdraws the wake of the blocking query under way
    std::optional<Reply::Wait> waiting_for_;  // the blocking query not yet answered
    std::uint64_t queries_ = 0;               // blocking queries begun on this connection
    std::string out_;
    bool writing_ = false, closed_ = false;
    std::atomic<bool> idle_{false};
};

HttpServer::HttpServer(const std::string& address, HttpApi& api, HttpLimits limits)
        : api_(api),
          limits_(limits),
          busy_(ioc_.get_executor()),
          acceptor_(net::make_strand(ioc_)),
          accept_backoff_(acceptor_.get_executor()),
          writes_(std::make_unique<WorkPool>("http writes", limits.write_threads, limits.write_queue)),
          fills_(std::make_unique<WorkPool>("http role reads", limits.fill_threads, limits.fill_queue)) {
    auto at = listen_address(address, "http");
    tcp::endpoint ep{at.ip, at.port};
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw SetupError(Fault::config, "http = '" + address + "': cannot listen: " + ec.message());
    accept();
    for (int i = 0; i < limits_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

// Every connection is closed on its strand (cancelling its subscription
// there); the pools finish what they hold, which posts back while the
// threads still run; then the threads run out of work and return.
HttpServer::~HttpServer() {
    net::dispatch(acceptor_.get_executor(), [this] {
        accept_backoff_.cancel();
        acceptor_.close();
    });
    std::vector<std::shared_ptr<Connection>> open;  // let go after mu_: a destructor takes mu_
    {
        std::lock_guard lk(mu_);
        for (auto& weak : connections_)
            if (auto c = weak.lock()) open.push_back(std::move(c));
    }
    for (auto& c : open) c->shut();
    open.clear();
    writes_.reset();
    fills_.reset();
    busy_.reset();
    for (auto& t : threads_) t.join();
}

std::string HttpServer::address() const {
    auto ep = acceptor_.local_endpoint();
    return address_text(ep.address(), ep.port());
}

// At the cap, idle connections (keep-alives, or ones that sent nothing)
// make room for a new one, oldest first: many clients each holding a few
// idle connections cannot shut out the next request (a probe's /healthz).
// Those in a request, a blocking query or an event stream are kept.
bool HttpServer::admit(const net::ip::address& peer) {
    std::shared_ptr<Connection> victim;  // let go after mu_: its destructor takes mu_
    {
        std::lock_guard lk(mu_);
        std::size_t& mine = per_client_[peer];
        if (mine < limits_.max_connections_per_client && open_ >= limits_.max_connections)
            for (auto& weak : connections_)
                if (auto c = weak.lock(); c && c->idle()) {
                    victim = std::move(c);
                    weak.reset();
                    break;
                }
        if (mine >= limits_.max_connections_per_client || (open_ >= limits_.max_connections && !victim)) {
            if (mine == 0) per_client_.erase(peer);
            return false;
        }
        ++open_;
        ++mine;
    }
    if (victim) victim->shut();
    return true;
}

void HttpServer::release(const net::ip::address& peer) {
    std::lock_guard lk(mu_);
    --open_;
    if (auto it = per_client_.find(peer); it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

// Runs on the acceptor's strand. At a cap a connection is closed at once
// (it holds a descriptor for no longer than that); when accept fails (out
// of descriptors, say) the next one waits a moment instead of spinning.
void HttpServer::accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            auto now = std::chrono::steady_clock::now();
            if (now - accept_error_logged_ > std::chrono::seconds(10)) {
                accept_error_logged_ = now;
                muster::core::log::warn("http: cannot accept a connection ({}); backing off", ec.message());
            }
            accept_backoff_.expires_after(std::chrono::milliseconds(100));
            accept_backoff_.async_wait([this](beast::error_code wait_ec) {
                if (!wait_ec) accept();
            });
            return;
        }
        beast::error_code peer_ec;
        auto peer = socket.remote_endpoint(peer_ec).address();
        if (peer_ec || !admit(peer)) {
            socket.close(peer_ec);
            return accept();
        }
        auto c = std::make_shared<Connection>(std::move(socket), *this, peer);
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
