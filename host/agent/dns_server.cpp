#include "dns_server.hpp"

#include "listen_address.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <muster/core/log.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstring>

namespace host::agent {

namespace net = boost::asio;
using udp = net::ip::udp;
using tcp = net::ip::tcp;

namespace {

constexpr std::chrono::seconds kTcpIdle{10};

// One TCP connection: queries framed by a two-byte length (RFC 1035 4.2.2),
// answered in order, closed after kTcpIdle without one.
class DnsConnection : public std::enable_shared_from_this<DnsConnection> {
public:
    DnsConnection(tcp::socket s, DnsServer& server)
            : socket_(std::move(s)), timer_(socket_.get_executor()), server_(server) {}
    ~DnsConnection() { server_.release_tcp(); }

    void start() { read_length(); }

private:
    void read_length() {
        timer_.expires_after(kTcpIdle);
        timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->socket_.close();
        });
        net::async_read(socket_, net::buffer(length_),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            if (ec) return self->close();
                            self->message_.resize(static_cast<std::size_t>(self->length_[0] << 8 | self->length_[1]));
                            self->read_message();
                        });
    }

    void read_message() {
        net::async_read(socket_, net::buffer(message_),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            if (ec) return self->close();
                            std::optional<std::string> missing;
                            if (!self->reply(&missing)) return;
                            if (missing && self->server_.fill_then(*missing, [self] { self->reply(nullptr); })) return;
                            self->reply(nullptr);
                        });
    }

    // Answers the query read; false when the connection ended, or (with
    // `missing` set) when a role must be read first and nothing was sent.
    bool reply(std::optional<std::string>* missing) {
        DnsReply r;
        try {  // nothing may escape into the io_context's thread
            r = server_.answer(message_, true, missing);
        } catch (const std::exception& e) {
            muster::core::log::error("dns: a query over TCP failed: {}", e.what());
            close();
            return false;
        }
        if (missing && *missing) return true;
        server_.metrics().dns_query("tcp", r.rcode);
        if (r.message.empty()) {
            read_length();
            return true;
        }
        out_.assign(
            {static_cast<std::uint8_t>(r.message.size() >> 8), static_cast<std::uint8_t>(r.message.size() & 0xff)});
        out_.insert(out_.end(), r.message.begin(), r.message.end());
        net::async_write(socket_, net::buffer(out_),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             if (ec) return self->close();
                             self->read_length();
                         });
        return true;
    }

    void close() {
        timer_.cancel();
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    tcp::socket socket_;
    net::steady_timer timer_;
    DnsServer& server_;
    std::array<std::uint8_t, 2> length_{};
    std::vector<std::uint8_t> message_, out_;
};

}  // namespace

DnsServer::DnsServer(const std::string& address, DnsOptions options, RoleLookup cached, RoleFill fill, Metrics& metrics,
                     DnsLimits limits)
        : options_(std::move(options)),
          limits_(limits),
          cached_(std::move(cached)),
          fill_(std::move(fill)),
          metrics_(metrics),
          udp_(ioc_),
          tcp_(ioc_),
          accept_backoff_(ioc_),
          batch_(std::make_unique<UdpBatch>()),
          fills_(std::make_unique<WorkPool>("dns role reads", limits.fill_threads, limits.fill_queue)) {
    auto at = listen_address(address, "dns");
    boost::system::error_code ec;
    udp::endpoint uep{at.ip, at.port};
    udp_.open(uep.protocol(), ec);
    if (!ec) udp_.bind(uep, ec);
    if (!ec) udp_.non_blocking(true, ec);  // a late reply never waits for room in the send buffer
    // TCP on the port UDP got (port 0 picks one for both).
    tcp::endpoint tep{at.ip, ec ? at.port : udp_.local_endpoint().port()};
    if (!ec) tcp_.open(tep.protocol(), ec);
    if (!ec) tcp_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) tcp_.bind(tep, ec);
    if (!ec) tcp_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw SetupError(Fault::config, "dns = '" + address + "': cannot listen: " + ec.message());
    receive();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
}

// The reads in flight finish and post their answers while the thread still
// runs; then it stops.
DnsServer::~DnsServer() {
    fills_.reset();
    ioc_.stop();
    thread_.join();
}

std::string DnsServer::address() const {
    auto ep = udp_.local_endpoint();
    return address_text(ep.address(), ep.port());
}

DnsReply DnsServer::answer(const std::vector<std::uint8_t>& query, bool tcp,
                           std::optional<std::string>* missing) const {
    RoleLookup lookup = [&](const std::string& role) {
        auto found = cached_(role);
        if (!found.snapshot && missing) *missing = role;
        return found;
    };
    return dns_answer(query.data(), query.size(), tcp, options_, lookup, &answers_);
}

bool DnsServer::fill_then(const std::string& role, std::function<void()> then) {
    return fills_->post([this, role, then = std::move(then)] {
        try {
            fill_(role);
        } catch (const std::exception& e) {
            muster::core::log::debug("dns: cannot read role {}: {}", role, e.what());
        }
        net::post(ioc_, then);
    });
}

bool DnsServer::admit_tcp() {
    if (tcp_open_.load() >= limits_.max_tcp_connections) return false;
    ++tcp_open_;
    return true;
}

// The datagrams of one recvmmsg and the replies of one sendmmsg.
struct DnsServer::UdpBatch {
    static constexpr unsigned kSize = 32;
    std::array<std::array<std::uint8_t, 4096>, kSize> in{};
    std::array<sockaddr_storage, kSize> from{};
    std::array<iovec, kSize> in_iov{}, out_iov{};
    std::array<mmsghdr, kSize> in_msgs{}, out_msgs{};
    std::array<std::vector<std::uint8_t>, kSize> out;
    std::vector<std::uint8_t> query;

    UdpBatch() {
        for (unsigned i = 0; i < kSize; ++i) {
            in_iov[i] = {in[i].data(), in[i].size()};
            in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
            in_msgs[i].msg_hdr.msg_iovlen = 1;
        }
    }
    // Ready for the next recvmmsg: every address slot its full size again.
    void rearm() {
        for (unsigned i = 0; i < kSize; ++i) {
            in_msgs[i].msg_hdr.msg_name = &from[i];
            in_msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
    }
};

// A role not cached yet is read off this thread and the query answered
// after; everything else is answered here, from the cache. Once the socket
// is readable, the datagrams waiting are read with one recvmmsg and their
// replies sent with one sendmmsg, batch after batch until none waits (up
// to a bound) before the next wait: under load a query costs a share of two
// system calls, not a poll, a receive and a send.
void DnsServer::receive() {
    udp_.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
        if (ec == net::error::operation_aborted) return;
        auto& b = *batch_;
        const int fd = udp_.native_handle();
        for (int round = 0; round < 8; ++round) {
            b.rearm();
            int got = recvmmsg(fd, b.in_msgs.data(), UdpBatch::kSize, MSG_DONTWAIT, nullptr);
            if (got <= 0) break;  // would block: drained
            unsigned replies = 0;
            for (int i = 0; i < got; ++i) {
                const auto& hdr = b.in_msgs[i].msg_hdr;
                udp::endpoint to;
                std::memcpy(to.data(), hdr.msg_name, hdr.msg_namelen);
                to.resize(hdr.msg_namelen);
                try {  // nothing may escape into the io_context's thread
                    b.query.assign(b.in[i].begin(), b.in[i].begin() + b.in_msgs[i].msg_len);
                    std::optional<std::string> missing;
                    auto reply = answer(b.query, false, &missing);
                    if (missing) {
                        auto send = [this, to](const DnsReply& later) {
                            metrics_.dns_query("udp", later.rcode);
                            boost::system::error_code ignored;
                            if (!later.message.empty()) udp_.send_to(net::buffer(later.message), to, 0, ignored);
                        };
                        if (!fill_then(*missing,
                                       [this, query = b.query, send] { send(answer(query, false, nullptr)); }))
                            send(answer(b.query, false, nullptr));  // too many reads wait: SERVFAIL now
                        continue;
                    }
                    metrics_.dns_query("udp", reply.rcode);
                    if (reply.message.empty()) continue;
                    b.out[replies] = std::move(reply.message);
                    b.out_iov[replies] = {b.out[replies].data(), b.out[replies].size()};
                    auto& out = b.out_msgs[replies].msg_hdr;
                    out = {};
                    out.msg_name = hdr.msg_name;
                    out.msg_namelen = hdr.msg_namelen;
                    out.msg_iov = &b.out_iov[replies];
                    out.msg_iovlen = 1;
                    ++replies;
                } catch (const std::exception& e) {
                    muster::core::log::error("dns: a query over UDP failed: {}", e.what());
                }
            }
            // A full send buffer drops the rest, as it would drop datagrams.
            for (unsigned sent = 0; sent < replies;) {
                int n = sendmmsg(fd, b.out_msgs.data() + sent, replies - sent, MSG_DONTWAIT);
                if (n <= 0) break;
                sent += static_cast<unsigned>(n);
            }
            if (static_cast<unsigned>(got) < UdpBatch::kSize) break;
        }
        receive();
    });
}

// At the cap a connection is closed at once; when accept fails (out of
// descriptors, say) the next one waits a moment instead of spinning.
void DnsServer::accept() {
    tcp_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) return;
        if (ec) {
            accept_backoff_.expires_after(std::chrono::milliseconds(100));
            accept_backoff_.async_wait([this](boost::system::error_code wait_ec) {
                if (!wait_ec) accept();
            });
            return;
        }
        if (admit_tcp())
            std::make_shared<DnsConnection>(std::move(socket), *this)->start();
        else
            socket.close(ec);
        accept();
    });
}

}  // namespace host::agent
