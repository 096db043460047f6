// health-grpc: the standard grpc.health.v1.Health/Check call per run, with
// an optional service name: SERVING passing, anything else critical, as are
// a failed call and a call past its deadline (the check's timeout). One
// channel per address, shared by the checks of that address and dropped
// when the address is no longer checked.
#include "health.grpc.pb.h"

#include <muster/cpp/health.hpp>
#include <muster/cpp/option_spec.hpp>

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using muster::sdk::Error;
using muster::sdk::Verdict;

std::string read_file(const std::string& option, const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(MUSTER_INVALID_ARGUMENT, option + ": cannot read " + path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class HealthGrpc : public muster::sdk::HealthCheck {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "grpc.health.v1 Check: SERVING passing, else critical";
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("service", "the service name asked about (empty: the server as a whole)"),
            muster::sdk::bool_option("tls", "connect with TLS").defaults_to("false"),
            muster::sdk::string_option("ca_file", "CA bundle that verifies the server (default: the system's)"),
            muster::sdk::string_option("cert_file", "client certificate (PEM) for mutual TLS"),
            muster::sdk::string_option("key_file", "the client certificate's key (PEM)"),
            muster::sdk::string_option("server_name", "the name the server's certificate must carry"),
        };
        return specs;
    }

    explicit HealthGrpc(const muster::sdk::HealthContext& ctx)
            : service_(ctx.options.get("service")), server_name_(ctx.options.get("server_name")) {
        bool tls = ctx.options.get_bool("tls");
        std::string ca = ctx.options.get("ca_file"), cert = ctx.options.get("cert_file"),
                    key = ctx.options.get("key_file");
        if (cert.empty() != key.empty()) throw Error(MUSTER_INVALID_ARGUMENT, "cert_file and key_file go together");
        if (!tls && (!ca.empty() || !cert.empty() || !server_name_.empty()))
            throw Error(MUSTER_INVALID_ARGUMENT, "ca_file, cert_file, key_file and server_name need tls = true");
        if (tls) {
            grpc::SslCredentialsOptions o;
            if (!ca.empty()) o.pem_root_certs = read_file("ca_file", ca);
            if (!cert.empty()) {
                o.pem_cert_chain = read_file("cert_file", cert);
                o.pem_private_key = read_file("key_file", key);
            }
            credentials_ = grpc::SslCredentials(o);
        } else {
            credentials_ = grpc::InsecureChannelCredentials();
        }
    }

    Verdict check(const muster::sdk::Instance& instance, std::int64_t timeout_ms) override {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
        HealthCheckRequest req;
        req.set_service(service_);
        HealthCheckResponse resp;
        grpc::Status st = stub_for(instance.address)->Check(&ctx, req, &resp);
        if (!st.ok())
            return {MUSTER_HEALTH_CRITICAL, "grpc " + status_name(st.error_code()) +
                                                (st.error_message().empty() ? "" : ": " + st.error_message())};
        if (resp.status() == HealthCheckResponse::SERVING) return {MUSTER_HEALTH_PASSING, "SERVING"};
        return {MUSTER_HEALTH_CRITICAL, HealthCheckResponse::ServingStatus_Name(resp.status())};
    }

private:
    // The channel of `address`, made on first use. Channels of addresses
    // not checked for kIdle go, and at most kMaxChannels stay (the least
    // recently used goes first): instances come and go, and each address
    // would otherwise keep a channel for the life of the process.
    std::shared_ptr<Health::Stub> stub_for(const std::string& address) {
        auto now = std::chrono::steady_clock::now();
        std::lock_guard lk(mu_);
        std::erase_if(stubs_, [&](const auto& e) { return now - e.second.used > kIdle; });
        if (stubs_.size() >= kMaxChannels && !stubs_.count(address))
            stubs_.erase(std::min_element(stubs_.begin(), stubs_.end(),
                                          [](const auto& a, const auto& b) { return a.second.used < b.second.used; }));
        Channel& c = stubs_[address];
        c.used = now;
        if (!c.stub) {
            grpc::ChannelArguments args;
            if (!server_name_.empty()) args.SetSslTargetNameOverride(server_name_);
            c.stub = Health::NewStub(grpc::CreateCustomChannel(address, credentials_, args));
        }
        return c.stub;
    }
    static constexpr std::size_t kMaxChannels = 256;
    static constexpr std::chrono::minutes kIdle{10};
    static std::string status_name(grpc::StatusCode c) {
        switch (c) {
        case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
        case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
        case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND (unknown service)";
        case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED (no health service)";
        case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
        default: return "status " + std::to_string(static_cast<int>(c));
        }
    }

    std::string service_, server_name_;
    std::shared_ptr<grpc::ChannelCredentials> credentials_;
    struct Channel {
        std::shared_ptr<Health::Stub> stub;  // shared: a check in progress keeps it past its eviction
        std::chrono::steady_clock::time_point used;
    };
    std::mutex mu_;  // guards stubs_
    std::map<std::string, Channel> stubs_;
};

}  // namespace

MUSTER_EXPORT_HEALTH(HealthGrpc, "1.0.0")
