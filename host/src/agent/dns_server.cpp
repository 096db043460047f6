#include "dns_server.hpp"

#include "listen_address.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

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
    DnsConnection(tcp::socket s, const DnsOptions& o, const RoleLookup& l, Metrics& m)
            : socket_(std::move(s)), timer_(socket_.get_executor()), options_(o), lookup_(l), metrics_(m) {}

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
        net::async_read(
            socket_, net::buffer(message_), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                if (ec) return self->close();
                DnsReply reply;
                try {  // nothing may escape into the io_context's thread
                    reply =
                        dns_answer(self->message_.data(), self->message_.size(), true, self->options_, self->lookup_);
                } catch (const std::exception& e) {
                    spdlog::error("dns: a query over TCP failed: {}", e.what());
                    return self->close();
                }
                self->metrics_.dns_query("tcp", reply.rcode);
                if (reply.message.empty()) return self->read_length();
                self->out_.assign({static_cast<std::uint8_t>(reply.message.size() >> 8),
                                   static_cast<std::uint8_t>(reply.message.size() & 0xff)});
                self->out_.insert(self->out_.end(), reply.message.begin(), reply.message.end());
                net::async_write(self->socket_, net::buffer(self->out_),
                                 [self](boost::system::error_code ec2, std::size_t) {
                                     if (ec2) return self->close();
                                     self->read_length();
                                 });
            });
    }

    void close() {
        timer_.cancel();
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    tcp::socket socket_;
    net::steady_timer timer_;
    const DnsOptions& options_;
    const RoleLookup& lookup_;
    Metrics& metrics_;
    std::array<std::uint8_t, 2> length_{};
    std::vector<std::uint8_t> message_, out_;
};

}  // namespace

DnsServer::DnsServer(const std::string& address, DnsOptions options, RoleLookup lookup, Metrics& metrics)
        : options_(std::move(options)), lookup_(std::move(lookup)), metrics_(metrics), udp_(ioc_), tcp_(ioc_) {
    auto at = listen_address(address, "dns");
    boost::system::error_code ec;
    udp::endpoint uep{at.ip, at.port};
    udp_.open(uep.protocol(), ec);
    if (!ec) udp_.bind(uep, ec);
    // TCP on the port UDP got (port 0 picks one for both).
    tcp::endpoint tep{at.ip, ec ? at.port : udp_.local_endpoint().port()};
    if (!ec) tcp_.open(tep.protocol(), ec);
    if (!ec) tcp_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) tcp_.bind(tep, ec);
    if (!ec) tcp_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw HostError(kConfig, "dns = '" + address + "': cannot listen: " + ec.message());
    receive();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
}

DnsServer::~DnsServer() {
    ioc_.stop();
    thread_.join();
}

std::string DnsServer::address() const {
    auto ep = udp_.local_endpoint();
    return address_text(ep.address(), ep.port());
}

// Queries over UDP are answered in the receiving handler: an answer is a
// cache lookup, never a backend call.
void DnsServer::receive() {
    udp_.async_receive_from(net::buffer(in_), from_, [this](boost::system::error_code ec, std::size_t n) {
        if (ec == net::error::operation_aborted) return;
        if (!ec) {
            try {  // nothing may escape into the io_context's thread
                auto reply = dns_answer(in_.data(), n, false, options_, lookup_);
                metrics_.dns_query("udp", reply.rcode);
                boost::system::error_code ignored;
                if (!reply.message.empty()) udp_.send_to(net::buffer(reply.message), from_, 0, ignored);
            } catch (const std::exception& e) {
                spdlog::error("dns: a query over UDP failed: {}", e.what());
            }
        }
        receive();
    });
}

void DnsServer::accept() {
    tcp_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted) return;
        if (!ec) std::make_shared<DnsConnection>(std::move(socket), options_, lookup_, metrics_)->start();
        accept();
    });
}

}  // namespace host::agent
