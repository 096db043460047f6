#include "http_reply.hpp"

#include <muster/core/log.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

namespace host::agent {

namespace {

constexpr std::int64_t kDefaultWaitMs = 300000, kMaxWaitMs = 600000;  // Consul's 5 min default, 10 min at most

}  // namespace

std::optional<Target> parse_target(std::string_view t) {
    if (t.empty() || t.front() != '/' || t.find('%') != std::string_view::npos) return std::nullopt;
    Target out;
    auto q = t.find('?');
    std::string_view path = t.substr(0, q), query = q == std::string_view::npos ? "" : t.substr(q + 1);
    for (std::size_t i = 1; i <= path.size();) {
        auto slash = path.find('/', i);
        if (slash == std::string_view::npos) slash = path.size();
        if (slash > i) out.path.emplace_back(path.substr(i, slash - i));
        i = slash + 1;
    }
    for (std::size_t i = 0; i < query.size();) {
        auto amp = query.find('&', i);
        if (amp == std::string_view::npos) amp = query.size();
        auto kv = query.substr(i, amp - i);
        auto eq = kv.find('=');
        if (!kv.empty())
            out.query[std::string(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : kv.substr(eq + 1);
        i = amp + 1;
    }
    return out;
}

Response json_response(const Request& req, http::status status, const nlohmann::json& body) {
    Response r{status, req.version()};
    r.set(http::field::content_type, "application/json");
    r.keep_alive(req.keep_alive());
    // Text from a request (a name in an error) may not be UTF-8: replaced,
    // never thrown over.
    r.body() = body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    r.prepare_payload();
    return r;
}

Response error(const Request& req, http::status status, const std::string& message) {
    std::string target(req.target().substr(0, 200));
    std::string line = muster::sdk::utf8_line(message);
    muster::core::log::warn("http {} {}: {} {}", muster::sdk::utf8_line(std::string(req.method_string())),
                            muster::sdk::utf8_line(target), static_cast<unsigned>(status), line);
    return json_response(req, status, {{"error", line}});
}

Response text_response(const Request& req, http::status status, std::string body, const char* type) {
    Response r{status, req.version()};
    r.set(http::field::content_type, type);
    r.keep_alive(req.keep_alive());
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}

Response not_allowed(const Request& req, const char* allow) {
    auto r = error(req, http::status::method_not_allowed, std::string("use ") + allow);
    r.set(http::field::allow, allow);
    return r;
}

std::optional<Blocking> blocking_of(const Target& t, std::string& problem) {
    auto index = t.query.find("index");
    if (index == t.query.end()) return std::nullopt;
    auto after = muster::sdk::parse_int(index->second);
    if (!after || *after < 0) {
        problem = "index is not a whole number";
        return std::nullopt;
    }
    std::int64_t wait_ms = kDefaultWaitMs;
    if (auto w = t.query.find("wait"); w != t.query.end()) {
        auto ms = muster::sdk::parse_duration_ms(w->second);
        if (!ms || *ms <= 0 || *ms > kMaxWaitMs) {
            problem = "wait is a duration up to 10m (e.g. 30s)";
            return std::nullopt;
        }
        wait_ms = *ms;
    }
    return Blocking{static_cast<std::uint64_t>(*after), std::chrono::milliseconds(wait_ms)};
}

}  // namespace host::agent
