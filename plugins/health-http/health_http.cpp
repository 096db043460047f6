// health-http: an HTTP request per check (libcurl). The status decides:
// passing_status (default 2xx) passing, warning_status (default 429, as
// Consul) warning, anything else, a transport error or a timeout critical;
// with body_match, a passing status also needs that text in the body. The
// first bytes of the body are the reason. Header values are secrets: the
// host masks them in every message and this plugin cuts them out of the
// bodies it quotes.
#include "status_set.hpp"

#include <muster/cpp/health.hpp>
#include <muster/cpp/instance_template.hpp>
#include <muster/cpp/option_spec.hpp>

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace {

using health_http::StatusSet;
using muster::sdk::Error;
using muster::sdk::Verdict;

constexpr std::size_t kBodyKept = 4096;  // enough for body_match and the reason
constexpr std::size_t kReasonBytes = 200;

StatusSet status_option(const muster::sdk::Options& o, const char* name, const char* fallback) {
    auto s = StatusSet::parse(o.get(name, fallback));
    if (!s)
        throw Error(MUSTER_INVALID_ARGUMENT, std::string(name) + ": '" + o.get(name) +
                                                 "' is not a list of status codes or classes (e.g. 2xx,304)");
    return *s;
}

class HealthHttp : public muster::sdk::HealthCheck {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "an HTTP(S) request: 2xx passing, 429 warning, else critical";
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("url",
                                       "URL template, e.g. http://{address}/healthz ({id}, {role}, {host}, "
                                       "{port}, {meta.KEY})")
                .required(),
            muster::sdk::string_option("method", "HTTP method").defaults_to("GET"),
            muster::sdk::string_option("passing_status", "statuses that pass").defaults_to("2xx"),
            muster::sdk::string_option("warning_status", "statuses that warn").defaults_to("429"),
            muster::sdk::string_option("body_match", "text a passing response's body must contain"),
            muster::sdk::string_option("headers", "request headers, 'Name: value' separated by newlines (\\n)")
                .secret(),
            muster::sdk::string_option("ca_file", "CA bundle that verifies the server (default: the system's)"),
            muster::sdk::string_option("cert_file", "client certificate (PEM) for mutual TLS"),
            muster::sdk::string_option("key_file", "the client certificate's key (PEM)"),
            muster::sdk::string_option("server_name",
                                       "the name the server's certificate must carry (SNI), when "
                                       "the URL holds an address"),
            muster::sdk::bool_option("insecure", "do not verify the server's certificate").defaults_to("false"),
            muster::sdk::bool_option("follow_redirects", "follow 3xx responses").defaults_to("false"),
        };
        return specs;
    }

    explicit HealthHttp(const muster::sdk::HealthContext& ctx)
            : url_(ctx.options.get("url")),
              method_(ctx.options.get("method", "GET")),
              passing_(status_option(ctx.options, "passing_status", "2xx")),
              warning_(status_option(ctx.options, "warning_status", "429")),
              body_match_(ctx.options.get("body_match")),
              ca_file_(ctx.options.get("ca_file")),
              cert_file_(ctx.options.get("cert_file")),
              key_file_(ctx.options.get("key_file")),
              server_name_(ctx.options.get("server_name")),
              insecure_(ctx.options.get_bool("insecure")),
              follow_(ctx.options.get_bool("follow_redirects")) {
        static std::once_flag curl_ready;
        std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
        if (auto p = muster::sdk::check_template(url_); !p.empty()) throw Error(MUSTER_INVALID_ARGUMENT, "url: " + p);
        if (url_.rfind("http://", 0) != 0 && url_.rfind("https://", 0) != 0)
            throw Error(MUSTER_INVALID_ARGUMENT, "url must start with http:// or https://");
        for (char c : method_)
            if (c < 'A' || c > 'Z') throw Error(MUSTER_INVALID_ARGUMENT, "method must be upper-case letters (GET)");
        if (cert_file_.empty() != key_file_.empty())
            throw Error(MUSTER_INVALID_ARGUMENT, "cert_file and key_file go together");
        std::string all = ctx.options.get("headers");
        for (std::size_t at = 0; at <= all.size();) {
            auto nl = all.find('\n', at);
            std::string line = all.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
            at = nl == std::string::npos ? all.size() + 1 : nl + 1;
            if (line.empty()) continue;
            auto colon = line.find(':');
            if (colon == std::string::npos || colon == 0)
                throw Error(MUSTER_INVALID_ARGUMENT, "headers: a line is not 'Name: value'");  // no value echoed
            headers_.push_back(line);
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            if (!value.empty()) header_values_.push_back(value);
        }
    }

    Verdict check(const muster::sdk::Instance& instance, std::int64_t timeout_ms) override {
        std::string missing;
        auto url = muster::sdk::fill_template(url_, instance, missing);
        if (!url) return {MUSTER_HEALTH_CRITICAL, "the instance has no metadata '" + missing + "'"};
        std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
        if (!curl) throw Error(MUSTER_INTERNAL, "curl_easy_init failed");
        CURL* h = curl.get();
        std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, &curl_slist_free_all);
        for (const auto& line : headers_) headers.reset(curl_slist_append(headers.release(), line.c_str()));
        std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> connect_to(nullptr, &curl_slist_free_all);
        std::string target = *url;
        if (!server_name_.empty()) {
            // Ask for the certificate's name, connect to the instance.
            std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
            char *host = nullptr, *port = nullptr;
            if (curl_url_set(u.get(), CURLUPART_URL, url->c_str(), 0) != CURLUE_OK ||
                curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK)
                return {MUSTER_HEALTH_CRITICAL, "not a URL: " + *url};
            curl_url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
            std::string rule = server_name_ + ":" + (port ? port : "") + ":" + host + ":" + (port ? port : "");
            curl_free(host);
            curl_free(port);
            connect_to.reset(curl_slist_append(nullptr, rule.c_str()));
            curl_url_set(u.get(), CURLUPART_HOST, server_name_.c_str(), 0);
            char* rewritten = nullptr;
            curl_url_get(u.get(), CURLUPART_URL, &rewritten, 0);
            target = rewritten;
            curl_free(rewritten);
            curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to.get());
        }
        std::string body;
        curl_easy_setopt(h, CURLOPT_URL, target.c_str());
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_.c_str());
        if (method_ == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow_ ? 1L : 0L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "muster-health-http/1.0");
        if (!ca_file_.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file_.c_str());
        if (!cert_file_.empty()) {
            curl_easy_setopt(h, CURLOPT_SSLCERT, cert_file_.c_str());
            curl_easy_setopt(h, CURLOPT_SSLKEY, key_file_.c_str());
        }
        if (insecure_) {
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &keep_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK) return {MUSTER_HEALTH_CRITICAL, *url + ": " + curl_easy_strerror(rc)};
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        std::string reason = "HTTP " + std::to_string(code);
        if (std::string quoted = excerpt(body); !quoted.empty()) reason += ": " + quoted;
        if (passing_.contains(code)) {
            if (!body_match_.empty() && body.find(body_match_) == std::string::npos)
                return {MUSTER_HEALTH_CRITICAL, reason + " (the body does not contain the expected text)"};
            return {MUSTER_HEALTH_PASSING, reason};
        }
        return {warning_.contains(code) ? MUSTER_HEALTH_WARNING : MUSTER_HEALTH_CRITICAL, reason};
    }

private:
    static std::size_t keep_body(char* data, std::size_t size, std::size_t n, void* to) {
        auto* body = static_cast<std::string*>(to);
        std::size_t room = kBodyKept - std::min(kBodyKept, body->size());
        body->append(data, std::min(room, size * n));
        return size * n;  // the rest is read and dropped
    }
    // The body's first bytes on one line, without any header value.
    std::string excerpt(const std::string& body) const {
        std::string s = body;
        for (const auto& v : header_values_)
            for (auto at = s.find(v); at != std::string::npos; at = s.find(v)) s.replace(at, v.size(), "***");
        s = muster::sdk::utf8_line(s.substr(0, kReasonBytes));
        while (!s.empty() && s.back() == ' ') s.pop_back();
        return s;
    }

    std::string url_, method_;
    StatusSet passing_, warning_;
    std::string body_match_, ca_file_, cert_file_, key_file_, server_name_;
    bool insecure_, follow_;
    std::vector<std::string> headers_, header_values_;
};

}  // namespace

MUSTER_EXPORT_HEALTH(HealthHttp, "1.0.0")
