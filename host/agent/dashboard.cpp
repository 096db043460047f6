#include "dashboard.hpp"

#include "ui_files.hpp"

#include <string>

namespace host::agent {

namespace {

// Scripts, styles, images and fetches from this agent only; no plugins,
// no frames of it elsewhere (clickjacking), no forms, no <base> tricks.
constexpr const char* kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const char* type_of(std::string_view name) {
    auto ends = [&](std::string_view ext) { return name.size() >= ext.size() && name.ends_with(ext); };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".json")) return "application/json";
    return "application/octet-stream";
}

Response guarded(Response r) {
    r.set("Content-Security-Policy", kPolicy);
    r.set("X-Content-Type-Options", "nosniff");
    r.set("X-Frame-Options", "DENY");
    r.set("Referrer-Policy", "no-referrer");
    // Small files: asked again each load, so an upgraded agent serves its own page.
    r.set(http::field::cache_control, "no-cache");
    return r;
}

}  // namespace

Response dashboard_response(const Target& t, const Request& req, bool reads_need_token) {
    if (req.method() != http::verb::get) return guarded(not_allowed(req, "GET"));
    std::string_view target(req.target().data(), req.target().size());
    if (target.substr(0, target.find('?')) == "/ui") {  // relative links need the slash
        Response r{http::status::moved_permanently, req.version()};
        r.set(http::field::location, "/ui/");
        r.keep_alive(req.keep_alive());
        r.prepare_payload();
        return guarded(std::move(r));
    }
    std::string name = t.path.size() == 1 ? "index.html" : t.path.size() == 2 ? t.path[1] : "";
    if (name == "config.json")
        return guarded(json_response(req, http::status::ok, {{"reads_need_token", reads_need_token}}));
    for (const auto& f : ui_files())
        if (f.name == name) return guarded(text_response(req, http::status::ok, std::string(f.body), type_of(name)));
    return guarded(error(req, http::status::not_found, "no such file in the dashboard (see /ui/)"));
}

}  // namespace host::agent
