// health-grpc against a gRPC server the test starts (gRPC's own default
// health service): SERVING, NOT_SERVING, an unknown service, a server that
// is gone, and TLS with a certificate checked by name.
#include <muster/core/health_client.hpp>
#include <muster/cpp/error.hpp>

#include "../support/self_signed.hpp"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace muster::core;

namespace {

std::shared_ptr<HealthClient> grpc_check(std::vector<std::pair<std::string, std::string>> options) {
    static PluginLoader loader;
    return HealthClient::create(loader.load("health-grpc"), options);
}

muster::sdk::Instance at(int port) {
    muster::sdk::Instance i;
    i.id = "3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11";
    i.role = "querier";
    i.address = "127.0.0.1:" + std::to_string(port);
    return i;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A gRPC server with the standard health service on a free loopback port.
// gRPC wants one service of its own beside the health service: a generic
// one that knows nothing (every other method answers UNIMPLEMENTED).
struct Server {
    grpc::CallbackGenericService nothing;
    std::unique_ptr<grpc::Server> server;
    int port = 0;
    explicit Server(std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials()) {
        grpc::EnableDefaultHealthCheckService(true);
        grpc::ServerBuilder b;
        b.AddListeningPort("127.0.0.1:0", creds, &port);
        b.RegisterCallbackGenericService(&nothing);
        server = b.BuildAndStart();
        REQUIRE(server);
        REQUIRE(port > 0);
    }
    void serving(const std::string& service, bool on) {
        server->GetHealthCheckService()->SetServingStatus(service, on);
    }
};

}  // namespace

TEST_CASE("health-grpc: SERVING passes, NOT_SERVING and an unknown service are critical") {
    Server s;
    s.serving("querier", true);
    CHECK(grpc_check({})->check(at(s.port), 2000).health == MUSTER_HEALTH_PASSING);  // the server as a whole
    auto check = grpc_check({{"service", "querier"}});
    CHECK(check->check(at(s.port), 2000).health == MUSTER_HEALTH_PASSING);
    s.serving("querier", false);
    auto down = check->check(at(s.port), 2000);
    CHECK(down.health == MUSTER_HEALTH_CRITICAL);
    CHECK(down.reason == "NOT_SERVING");
    auto unknown = grpc_check({{"service", "nope"}})->check(at(s.port), 2000);
    CHECK(unknown.health == MUSTER_HEALTH_CRITICAL);
    CHECK(unknown.reason.find("NOT_FOUND") != std::string::npos);
}

TEST_CASE("health-grpc: a server that is gone is critical within the timeout") {
    int port = 0;
    {
        Server s;
        port = s.port;
        s.server->Shutdown();
    }
    auto started = std::chrono::steady_clock::now();
    auto r = grpc_check({})->check(at(port), 500);
    CHECK(r.health == MUSTER_HEALTH_CRITICAL);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1500));
}

TEST_CASE("health-grpc: TLS verifies the server's certificate by server_name") {
    test_support::SelfSigned cert("grpc-tls");
    grpc::SslServerCredentialsOptions o;
    o.pem_key_cert_pairs.push_back({slurp(cert.key()), slurp(cert.cert())});
    Server s(grpc::SslServerCredentials(o));
    s.serving("querier", true);
    auto tls = grpc_check(
        {{"service", "querier"}, {"tls", "true"}, {"ca_file", cert.cert().string()}, {"server_name", "muster.test"}});
    CHECK(tls->check(at(s.port), 3000).health == MUSTER_HEALTH_PASSING);
    auto wrong_name = grpc_check(
        {{"service", "querier"}, {"tls", "true"}, {"ca_file", cert.cert().string()}, {"server_name", "other.test"}});
    CHECK(wrong_name->check(at(s.port), 3000).health == MUSTER_HEALTH_CRITICAL);
    auto plain = grpc_check({{"service", "querier"}});
    CHECK(plain->check(at(s.port), 3000).health == MUSTER_HEALTH_CRITICAL);
    CHECK_THROWS_AS(grpc_check({{"ca_file", cert.cert().string()}}), muster::sdk::Error);  // needs tls
}
