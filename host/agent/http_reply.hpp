// What the agent's HTTP endpoints (muster's own and Consul's) share: the
// request target split into path and query, replies in JSON or text with
// errors logged once, and the parameters of a blocking query.
#pragma once

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace host::agent {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Target {
    std::vector<std::string> path;  // "/v1/roles/x" -> {"v1", "roles", "x"}
    std::map<std::string, std::string> query;
};

// Names in this API never need escapes; a '%' is refused rather than
// decoded, so what is checked is what is used. nullopt: not a path.
std::optional<Target> parse_target(std::string_view t);

Response json_response(const Request& req, http::status status, const nlohmann::json& body);
// A 4xx or 5xx with {"error": message}, and one log line (the target is
// cut short; no header is logged, so a token never is).
Response error(const Request& req, http::status status, const std::string& message);
Response text_response(const Request& req, http::status status, std::string body, const char* type);
Response not_allowed(const Request& req, const char* allow);

// A blocking query (Consul's form, which muster's roles use too):
// ?index=N answers once the index passes N, waiting at most ?wait (a
// duration, 5 minutes when not given, 10 at most).
struct Blocking {
    std::uint64_t after = 0;
    std::chrono::milliseconds wait{0};
};
// nullopt without ?index; `problem` is set (and nullopt returned) for a
// bad index or wait.
std::optional<Blocking> blocking_of(const Target& t, std::string& problem);

}  // namespace host::agent
