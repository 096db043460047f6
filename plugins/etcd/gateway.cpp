#include "gateway.hpp"

#include <muster/cpp/error.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace etcd {

using muster::sdk::Error;

namespace {

// The longest answer held: a page of a list is far smaller, so a bigger one
// is a broken or hostile peer.
constexpr std::size_t kMaxAnswer = 64u << 20;

// gRPC status codes etcd answers with (google.golang.org/grpc/codes).
constexpr int kInvalidArgument = 3, kNotFound = 5, kAlreadyExists = 6, kPermissionDenied = 7, kUnauthenticated = 16;

size_t append(char* data, size_t size, size_t n, void* user) {
    auto* out = static_cast<std::string*>(user);
    if (out->size() + size * n > kMaxAnswer) return 0;  // curl then fails the transfer
    out->append(data, size * n);
    return size * n;
}

muster_status status_of(int grpc_code) {
    switch (grpc_code) {
    case kInvalidArgument: return MUSTER_INVALID_ARGUMENT;
    case kNotFound: return MUSTER_NOT_FOUND;
    case kAlreadyExists: return MUSTER_CONFLICT;
    default: return MUSTER_UNAVAILABLE;  // no leader, timeouts, auth: the chain moves on
    }
}

bool token_expired(int code, const std::string& message) {
    return code == kUnauthenticated || message.find("invalid auth token") != std::string::npos;
}

// etcd's error message in an answer, or the HTTP status when it has none.
std::string error_text(const nlohmann::json& j, long http_code) {
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
    return "HTTP " + std::to_string(http_code);
}

struct CurlInit {
    CurlInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

std::vector<std::string> parse_endpoints(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t/") + 1);
        if (item.empty()) continue;
        if (item.find("://") == std::string::npos) item = "http://" + item;
        auto scheme_end = item.find("://");
        std::string scheme = item.substr(0, scheme_end), rest = item.substr(scheme_end + 3);
        auto colon = rest.rfind(':');
        bool port_ok = colon != std::string::npos && colon + 1 < rest.size() &&
                       std::all_of(rest.begin() + static_cast<long>(colon) + 1, rest.end(),
                                   [](unsigned char c) { return std::isdigit(c); });
        if ((scheme != "http" && scheme != "https") || colon == 0 || !port_ok || rest.find('/') != std::string::npos)
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'endpoints': '" + item +
                                                     "' is not an etcd client URL (http://host:port or "
                                                     "https://host:port, several separated by commas)");
        out.push_back(item);
    }
    if (out.empty())
        throw Error(MUSTER_INVALID_ARGUMENT, "option 'endpoints' names no endpoint (e.g. http://127.0.0.1:2379)");
    return out;
}

struct Gateway::Handle {
    Handle() : curl(curl_easy_init()) {
        if (!curl) throw Error(MUSTER_INTERNAL, "etcd: curl_easy_init failed");
    }
    ~Handle() { curl_easy_cleanup(curl); }
    CURL* curl;
};

Gateway::Gateway(GatewayOptions o) : o_(std::move(o)) { static CurlInit once; }

Gateway::~Gateway() = default;

std::unique_ptr<Gateway::Handle> Gateway::take() {
    {
        std::lock_guard lk(mu_);
        if (!idle_.empty()) {
            auto h = std::move(idle_.back());
            idle_.pop_back();
            return h;
        }
    }
    return std::make_unique<Handle>();
}

void Gateway::give_back(std::unique_ptr<Handle> h) {
    std::lock_guard lk(mu_);
    if (idle_.size() < 8) idle_.push_back(std::move(h));  // more were only needed in a burst
}

std::string Gateway::current_endpoint() {
    std::lock_guard lk(mu_);
    return o_.endpoints[current_ % o_.endpoints.size()];
}

void Gateway::failed(const std::string& endpoint) {
    std::lock_guard lk(mu_);
    if (o_.endpoints[current_ % o_.endpoints.size()] == endpoint) ++current_;
}

std::string Gateway::token() {
    std::lock_guard lk(mu_);
    return token_;
}

void Gateway::configure(CURL* h, curl_slist** headers, bool with_token) {
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o_.dial_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    if (!o_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o_.ca_file.c_str());
    if (!o_.cert_file.empty()) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, o_.cert_file.c_str());
        curl_easy_setopt(h, CURLOPT_SSLKEY, o_.key_file.c_str());
    }
    *headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (with_token && !o_.username.empty()) {
        if (token().empty()) authenticate();
        *headers = curl_slist_append(*headers, ("Authorization: " + token()).c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
}

Gateway::Posted Gateway::post(const std::string& endpoint, std::string_view path, const std::string& payload,
                              bool with_token) {
    auto h = take();
    curl_slist* headers = nullptr;
    try {
        configure(h->curl, &headers, with_token);
    } catch (...) {
        curl_slist_free_all(headers);
        give_back(std::move(h));
        throw;
    }
    Posted out;
    std::string url = endpoint + std::string(path);
    curl_easy_setopt(h->curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h->curl, CURLOPT_COPYPOSTFIELDS, payload.c_str());
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, o_.request_timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &out.answer);
    out.rc = curl_easy_perform(h->curl);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &out.code);
    curl_slist_free_all(headers);
    give_back(std::move(h));
    if (out.rc == CURLE_OK) {
        std::lock_guard lk(mu_);
        answered_[endpoint] = std::chrono::steady_clock::now();
    }
    return out;
}

void Gateway::authenticate() {
    std::string endpoint = current_endpoint();
    Posted p = post(endpoint, "/v3/auth/authenticate",
                    nlohmann::json{{"name", o_.username}, {"password", o_.password}}.dump(), false);
    if (p.rc != CURLE_OK)
        throw Error(MUSTER_UNAVAILABLE, "etcd " + endpoint + ": authentication: " + curl_easy_strerror(p.rc));
    auto j = nlohmann::json::parse(p.answer, nullptr, false);
    if (p.code != 200 || !j.is_object() || !j.contains("token") || !j["token"].is_string())
        throw Error(MUSTER_UNAVAILABLE,
                    "etcd: authentication as '" + o_.username + "' failed: " + error_text(j, p.code));
    std::lock_guard lk(mu_);
    token_ = j["token"].get<std::string>();
}

bool Gateway::answered_within(const std::string& endpoint, std::chrono::milliseconds ms) {
    std::lock_guard lk(mu_);
    auto it = answered_.find(endpoint);
    return it != answered_.end() && std::chrono::steady_clock::now() - it->second < ms;
}

std::string Gateway::prepare_stream(CURL* h, std::string_view path, const std::string& body, curl_slist** headers) {
    std::string endpoint = current_endpoint();
    configure(h, headers, true);
    std::string url = endpoint + std::string(path);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body.c_str());
    return endpoint;
}

nlohmann::json Gateway::call(std::string_view path, const nlohmann::json& body, const std::string* at) {
    const std::string payload = body.dump();
    // A refused connection (the member is down) is tried on each other
    // endpoint once; an expired token once after authenticating again.
    // Anything else, a timeout above all, is the caller's: a write may have
    // landed.
    std::size_t refused = 0;
    bool reauthenticated = false;
    for (;;) {
        std::string endpoint = at ? *at : current_endpoint();
        Posted p = post(endpoint, path, payload, true);
        if (p.rc != CURLE_OK) {
            failed(endpoint);
            if (p.rc == CURLE_COULDNT_CONNECT && !at && ++refused < o_.endpoints.size()) continue;
            if (p.rc == CURLE_OPERATION_TIMEDOUT)
                throw Error(MUSTER_UNAVAILABLE,
                            "etcd " + endpoint + ": no answer within " + std::to_string(o_.request_timeout_ms) + " ms");
            throw Error(MUSTER_UNAVAILABLE, "etcd " + endpoint + ": " + curl_easy_strerror(p.rc));
        }
        auto j = nlohmann::json::parse(p.answer, nullptr, false);
        if (p.code == 200 && j.is_object()) return j;
        int grpc = j.is_object() && j.contains("code") && j["code"].is_number_integer() ? j["code"].get<int>() : -1;
        std::string message = error_text(j, p.code);
        if (grpc >= 0 && token_expired(grpc, message) && !o_.username.empty() && !reauthenticated) {
            reauthenticated = true;
            authenticate();
            continue;
        }
        if (grpc == kPermissionDenied) message += " (the user lacks a role with readwrite on the prefix)";
        throw Error(grpc >= 0 ? status_of(grpc) : MUSTER_UNAVAILABLE, "etcd " + endpoint + ": " + message);
    }
}

}  // namespace etcd
