// etcd's v3 API through its JSON gateway (grpc-gateway, served on every
// client URL since etcd 3.3): POSTs of JSON over libcurl, one connection
// kept open per handle. Keys and values travel base64-encoded, 64-bit
// integers as strings (proto3's JSON mapping).
//
// Several endpoints: calls go to one until it fails to answer, then to the
// next (a member down, a partition). With a user name the gateway's token
// (/v3/auth/authenticate) goes with every call and is fetched again when
// etcd says it expired.
//
// Thread-safe: each call takes an idle handle from a small pool.
#pragma once

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace etcd {

struct GatewayOptions {
    std::vector<std::string> endpoints;  // "http://host:port" or "https://..."
    std::string username, password;      // empty: no authentication
    std::string ca_file, cert_file, key_file;
    long dial_timeout_ms = 2000;
    long request_timeout_ms = 2000;
};

// Parses a comma-separated list of endpoints ("host:port" gets http://).
// Throws muster::sdk::Error(INVALID_ARGUMENT) with the option's name for
// one that is not a URL of etcd's.
std::vector<std::string> parse_endpoints(const std::string& text);

class Gateway {
public:
    explicit Gateway(GatewayOptions o);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // POSTs `body` to `path` ("/v3/kv/range") and returns etcd's answer.
    // Throws muster::sdk::Error: UNAVAILABLE when no answer came within the
    // request timeout, or every endpoint refused the connection (a refusal
    // moves the call to the next endpoint); etcd's own error otherwise,
    // mapped from its gRPC code, its message in the text.
    // `at`: this endpoint only (no failover), e.g. the one a watch streams from.
    nlohmann::json call(std::string_view path, const nlohmann::json& body, const std::string* at = nullptr);

    // Sets up `h` for a streaming POST of `body` to `path` on the current
    // endpoint (the watch): URL, TLS, the token, the dial timeout; no
    // overall timeout. `headers` receives the list to free after the
    // transfer. Returns the endpoint used, for failed().
    std::string prepare_stream(CURL* h, std::string_view path, const std::string& body, curl_slist** headers);

    // The endpoint `endpoint` did not answer: later calls go to the next.
    void failed(const std::string& endpoint);

    long request_timeout_ms() const { return o_.request_timeout_ms; }
    // True when a call to `endpoint` got an answer within the last `ms`:
    // the watches streaming from it then need not ask whether it answers.
    bool answered_within(const std::string& endpoint, std::chrono::milliseconds ms);

private:
    struct Handle;
    std::unique_ptr<Handle> take();
    void give_back(std::unique_ptr<Handle> h);
    std::string current_endpoint();
    // One POST of `payload` to `endpoint` + `path` within the request
    // timeout, with the token when `with_token`; notes an answer.
    struct Posted {
        CURLcode rc = CURLE_OK;
        long code = 0;  // HTTP status
        std::string answer;
    };
    Posted post(const std::string& endpoint, std::string_view path, const std::string& payload, bool with_token);
    // Sets what every request of ours has: TLS files, dial timeout, token.
    void configure(CURL* h, curl_slist** headers, bool with_token);
    std::string token();
    void authenticate();

    GatewayOptions o_;
    std::mutex mu_;  // guards everything below
    std::size_t current_ = 0;
    std::string token_;
    std::vector<std::unique_ptr<Handle>> idle_;
    std::map<std::string, std::chrono::steady_clock::time_point> answered_;  // by endpoint: the last answer
};

}  // namespace etcd
