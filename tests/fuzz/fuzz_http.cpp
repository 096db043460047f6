// libFuzzer: any bytes as an HTTP request, parsed by Beast as the agent's
// server does (with its body limit) and handled by the agent's API over a
// memory backend, with a bearer token and a [check.web] set, as the server
// does it: a write's work and a role's first read run as the pools would
// run them. Every answer must be a response: no crash, no exception, and
// nothing loaded.
#include "agent/http_api.hpp"

#include <muster/core/plugin_loader.hpp>

#include <boost/beast/http/read.hpp>

#include <muster/core/log.hpp>

#include <cstdint>

namespace {

struct World {
    World() {
        muster::core::log::set_level(spdlog::level::off);
        host::Settings settings;
        settings.http_token = "fuzz-token-0123456789";
        settings.chain = {{"memory", "memory", false, {}, {}}};
        host::CheckDef web;
        web.name = "web";
        web.plugin = "health-exec";  // no network: an address from the fuzzer is never dialled
        web.options = {{"command", "true"}};
        web.interval = std::chrono::seconds(60);
        web.timeout = std::chrono::milliseconds(50);
        settings.checks["web"] = web;
        node = std::make_unique<host::Node>(settings, host::Startup::fail_fast);
        metrics = std::make_unique<host::agent::Metrics>(node->registry());
        api = std::make_unique<host::agent::HttpApi>(*node, *metrics);
        registered = node->registry().register_instance({"router", "10.0.0.1:80", "", {}, {}, {}});
    }
    std::unique_ptr<host::Node> node;
    std::unique_ptr<host::agent::Metrics> metrics;
    std::unique_ptr<host::agent::HttpApi> api;
    muster::core::Registration registered;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static World w;
    boost::beast::http::request_parser<boost::beast::http::string_body> parser;
    parser.body_limit(64 * 1024);
    parser.eager(true);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(data, size), ec);
    if (ec || !parser.is_done()) return 0;
    const auto& req = parser.get();
    auto reply = w.api->handle(req);
    if (reply.fill) {
        if (auto refused = w.api->fill(*reply.fill, req)) {
            if (refused->result_int() < 400) std::abort();
            return 0;
        }
        reply = w.api->handle(req);
        if (reply.fill) std::abort();  // cached now: never asked to read again
    }
    if (reply.work) reply.response = reply.work();
    if (reply.wait) reply.response = reply.wait->answer();  // as if the index moved: the answer's path runs too
    if (!reply.stream && reply.response.result_int() < 200) std::abort();
    return 0;
}
