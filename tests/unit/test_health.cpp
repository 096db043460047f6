#include <muster/core/health_client.hpp>
#include <muster/core/plugin_config.hpp>
#include <muster/cpp/error.hpp>

#include <catch2/catch.hpp>

#include <cstdio>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace muster::core;

namespace {

std::shared_ptr<HealthClient> tcp_check(std::vector<std::pair<std::string, std::string>> options = {}) {
    static PluginLoader loader;
    return HealthClient::create(loader.load("health-tcp"), options);
}

muster::sdk::Instance at(int port) {
    muster::sdk::Instance i;
    i.id = "3f2b8c1e-0d4a-4c55-9e1a-6b7f0c2d9e11";
    i.role = "querier";
    i.address = "127.0.0.1:" + std::to_string(port);
    return i;
}

// A listening socket on a free loopback port, closed on destruction.
struct Listener {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = 0;
    Listener() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(listen(fd, 4) == 0);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~Listener() { close(fd); }
};

}  // namespace

TEST_CASE("health-tcp: passing when the address accepts a connection") {
    Listener l;
    auto r = tcp_check()->check(at(l.port), 1000);
    CHECK(r.health == MUSTER_HEALTH_PASSING);
}

TEST_CASE("health-tcp: critical when the connection is refused, with the reason") {
    int port = 0;
    {
        Listener l;
        port = l.port;
    }  // closed again: nothing listens there now
    auto r = tcp_check()->check(at(port), 1000);
    CHECK(r.health == MUSTER_HEALTH_CRITICAL);
    CHECK(r.reason.find("refused") != std::string::npos);
}

TEST_CASE("health-tcp: an unknown option is refused when it is created") {
    CHECK_THROWS_AS(tcp_check({{"colour", "red"}}), muster::sdk::Error);
    CHECK_THROWS_AS(tcp_check({{"slow", "soon"}}), muster::sdk::Error);
}

// Both kinds of plugin are created through PluginConfig: what it masks is
// masked for health checks exactly as for backends.
TEST_CASE("options declared secret are masked in plugin messages, for every kind of plugin") {
    const muster_option_spec specs[] = {
        {sizeof(muster_option_spec), MUSTER_OPT_STRING, MUSTER_OPT_SECRET, 0, "authorization", nullptr, "a header"},
        {sizeof(muster_option_spec), MUSTER_OPT_STRING, 0, 0, "url", nullptr, "where"},
    };
    PluginConfig config(specs, 2, {{"authorization", "Bearer s3cr3t-t0ken"}, {"url", "http://x"}}, "health check h");
    CHECK(config.size() == 2);
    muster_error err{};
    std::snprintf(err.message, sizeof err.message, "401 for Bearer s3cr3t-t0ken at http://x");
    std::string shown = plugin_message(err);
    CHECK(shown.find("s3cr3t-t0ken") == std::string::npos);
    CHECK(shown.find("http://x") != std::string::npos);
    CHECK_THROWS_WITH(PluginConfig(specs, 2, {{"colour", "red"}}, "health check h"),
                      Catch::Contains("health check h: unknown option 'colour'"));
}
