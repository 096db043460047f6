#include "http_api.hpp"

#include "consul_api.hpp"
#include "dashboard.hpp"
#include "http_reply.hpp"

#include "compose/check_settings.hpp"
#include "compose/instance_json.hpp"
#include "compose/setup_error.hpp"
#include "compose/status_json.hpp"
#include "listen_address.hpp"

#include <muster/cpp/clock.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

#include <muster/core/log.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <vector>

namespace host::agent {

namespace {

// Both compared in full, so the time taken says nothing about the token.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

http::status status_of(muster_status s) {
    switch (s) {
    case MUSTER_INVALID_ARGUMENT: return http::status::bad_request;
    case MUSTER_NOT_FOUND: return http::status::not_found;
    case MUSTER_CONFLICT: return http::status::conflict;
    case MUSTER_UNAVAILABLE:
    case MUSTER_TRY_AGAIN: return http::status::service_unavailable;
    default: return http::status::internal_server_error;
    }
}

std::vector<std::string> strings(const nlohmann::json& body, const char* key) {
    std::vector<std::string> out;
    if (!body.contains(key)) return out;
    for (const auto& v : body.at(key)) out.push_back(v.get<std::string>());
    return out;
}

// The token of "Authorization: Bearer TOKEN"; empty without one.
std::string_view bearer(const Request& req) {
    auto auth = req[http::field::authorization];
    std::string_view a(auth.data(), auth.size());
    return a.starts_with("Bearer ") ? a.substr(7) : std::string_view();
}

// "example.com:8500" -> "example.com"; "[::1]:8500" -> "::1".
std::string_view host_of(std::string_view host_port) {
    if (!host_port.empty() && host_port.front() == '[') {
        auto close = host_port.find(']');
        return close == std::string_view::npos ? host_port : host_port.substr(1, close - 1);
    }
    auto colon = host_port.find(':');
    return colon == std::string_view::npos ? host_port : host_port.substr(0, colon);
}

// "https://example.com:8500" -> "example.com" ("null" and the like stay as
// they are, and match nothing).
std::string_view origin_host(std::string_view origin) {
    auto scheme = origin.find("://");
    return scheme == std::string_view::npos ? origin : host_of(origin.substr(scheme + 3));
}

}  // namespace

Reply::Wait index_wait(muster::core::Registry& registry, const std::optional<std::string>& role, const Blocking& b,
                       std::function<Response()> answer) {
    Reply::Wait w;
    w.what = role ? *role : "every role";
    w.deadline = std::chrono::steady_clock::now() + b.wait;
    w.arm = [&registry, role, after = b.after](std::function<void()> wake) -> std::function<void()> {
        auto index =
            std::make_shared<muster::core::IndexWait>(role ? registry.wake_after(*role, after, std::move(wake))
                                                           : registry.wake_after_every_role(after, std::move(wake)));
        return [index] { index->cancel(); };
    };
    w.answer = std::move(answer);
    return w;
}

HttpApi::HttpApi(Node& node, Metrics& metrics)
        : node_(node),
          registry_(node.registry()),
          settings_(node.settings()),
          metrics_(metrics),
          consul_(std::make_unique<ConsulApi>(registry_)),
          listen_ip_(listen_address(settings_.http_listen.empty() ? "127.0.0.1:0" : settings_.http_listen, "http").ip) {
}

HttpApi::~HttpApi() {
    std::lock_guard lk(mu_);
    owned_.clear();  // each Registration deregisters
}

std::optional<Response> HttpApi::refused(const Request& req) const {
    // A browser's cross-site request carries the page's origin: a page may
    // read nothing of an answer, but a write would still be done.
    auto origin = req[http::field::origin];
    auto site = req["Sec-Fetch-Site"];
    if ((!origin.empty() && !host_allowed(origin_host(std::string_view(origin.data(), origin.size())))) ||
        site == "cross-site")
        return error(req, http::status::forbidden, "cross-origin writes are refused");
    if (settings_.http_token.empty()) {
        if (settings_.http_allow_anonymous_writes) return std::nullopt;
        return error(req, http::status::forbidden,
                     "this agent takes no writes: its operator configured no http_token (or "
                     "http_allow_anonymous_writes = true)");
    }
    if (req[http::field::authorization].empty()) {
        auto r = error(req, http::status::unauthorized, "this agent takes writes with 'Authorization: Bearer TOKEN'");
        r.set(http::field::www_authenticate, "Bearer realm=\"muster\"");
        return r;
    }
    if (!same_secret(bearer(req), settings_.http_token))
        return error(req, http::status::forbidden, "the bearer token is not this agent's");
    return std::nullopt;
}

std::optional<Response> HttpApi::unreadable(const Request& req) const {
    const std::string& read = settings_.http_read_token;
    if (read.empty()) return std::nullopt;
    // Consul's clients send X-Consul-Token; everything else a bearer token.
    auto consul = req["X-Consul-Token"];
    std::string_view given = !consul.empty() ? std::string_view(consul.data(), consul.size()) : bearer(req);
    if (given.empty()) {
        auto r = error(req, http::status::unauthorized, "this agent takes reads with 'Authorization: Bearer TOKEN'");
        r.set(http::field::www_authenticate, "Bearer realm=\"muster\"");
        return r;
    }
    bool write_token = !settings_.http_token.empty() && same_secret(given, settings_.http_token);
    if (!same_secret(given, read) && !write_token)
        return error(req, http::status::forbidden, "the bearer token is not this agent's");
    return std::nullopt;
}

bool HttpApi::host_allowed(std::string_view host) const {
    std::string h(host);
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
    if (h == "localhost") return true;
    for (const auto& name : settings_.http_allowed_hosts)
        if (h == name) return true;
    // An IP address cannot be rebound to another server: the one listened
    // on, or any when listening on every address.
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(h, ec);
    if (ec) return false;
    return listen_ip_.is_unspecified() || ip == listen_ip_;
}

Reply HttpApi::handle(const Request& req) {
    if (auto host = req[http::field::host];
        !host.empty() && !host_allowed(host_of(std::string_view(host.data(), host.size()))))
        return {error(
            req, http::status::forbidden,
            "Host '" + std::string(host.substr(0, 100)) + "' is not this agent's (list it in http_allowed_hosts)")};
    auto t = parse_target(std::string_view(req.target().data(), req.target().size()));
    if (!t) return {error(req, http::status::bad_request, "the target is not a path (and '%' escapes are not taken)")};
    const auto& p = t->path;
    auto method = req.method();
    if (p == std::vector<std::string>{"healthz"}) {
        if (method != http::verb::get) return {not_allowed(req, "GET")};
        for (const auto& l : registry_.chain().status())
            if (l.state == muster::core::Breaker::State::closed)
                return {text_response(req, http::status::ok, "ok\n", "text/plain")};
        return {text_response(req, http::status::service_unavailable, "no backend is up\n", "text/plain")};
    }
    if (!p.empty() && p[0] == "ui") return {dashboard_response(*t, req, !settings_.http_read_token.empty())};
    if (auto no = unreadable(req)) return {*no};
    if (p == std::vector<std::string>{"metrics"}) {
        if (method != http::verb::get) return {not_allowed(req, "GET")};
        return {text_response(req, http::status::ok, metrics_.text(), "text/plain; version=0.0.4")};
    }
    if (p.empty() || p[0] != "v1") return {error(req, http::status::not_found, "no such endpoint (see docs/agent.md)")};
    if (auto consul = consul_->handle(*t, req)) return std::move(*consul);
    if (p.size() == 2 && p[1] == "status") {
        if (method != http::verb::get) return {not_allowed(req, "GET")};
        return {json_response(req, http::status::ok, status_json(node_))};
    }
    if (p.size() == 3 && p[1] == "roles") {
        if (method != http::verb::get) return {not_allowed(req, "GET")};
        const std::string& role = p[2];
        if (auto problem = muster::sdk::check_role(role); !problem.empty())
            return {error(req, http::status::bad_request, problem)};
        if (node_.regions().configured()) return regional_role(role, *t, req);
        auto snap = registry_.cached(role);  // one look at the role: never waits on a backend
        if (!snap) {
            Reply r;
            r.fill = std::optional<std::string>(role);
            return r;
        }
        std::string problem;
        auto blocking = blocking_of(*t, problem);
        if (!problem.empty()) return {error(req, http::status::bad_request, problem)};
        if (!blocking || snap->index > blocking->after) return {role_response(role, *snap, req)};
        Reply r;
        r.wait = index_wait(registry_, role, *blocking, [this, role, req] { return role_response(role, req); });
        return r;
    }
    if (p.size() == 2 && p[1] == "watch") {
        if (method != http::verb::get) return {not_allowed(req, "GET")};
        auto role = t->query.find("role");
        if (role == t->query.end()) {
            Reply r;
            if (!registry_.cached_every_role())
                r.fill = std::optional<std::string>();
            else
                r.stream = std::optional<std::string>();
            return r;
        }
        if (auto problem = muster::sdk::check_role(role->second); !problem.empty())
            return {error(req, http::status::bad_request, problem)};
        Reply r;
        if (!registry_.cached(role->second))
            r.fill = std::optional<std::string>(role->second);
        else
            r.stream = std::optional<std::string>(role->second);
        return r;
    }
    if (p.size() == 2 && p[1] == "instances") {
        if (method != http::verb::put) return {not_allowed(req, "PUT")};
        if (auto no = refused(req)) return {*no};
        Reply r;
        r.work = [this, req] { return register_instance(req); };
        return r;
    }
    if ((p.size() == 3 || (p.size() == 4 && p[3] == "health")) && p[1] == "instances") {
        bool health = p.size() == 4;
        if (method != (health ? http::verb::put : http::verb::delete_))
            return {not_allowed(req, health ? "PUT" : "DELETE")};
        if (auto no = refused(req)) return {*no};
        std::string id = muster::sdk::normalised_id(p[2]);
        if (auto problem = muster::sdk::check_id(id); !problem.empty())
            return {error(req, http::status::bad_request, problem)};
        Reply r;
        r.work = [this, req, id, health] { return health ? set_health(req, id) : deregister(req, id); };
        return r;
    }
    return {error(req, http::status::not_found, "no such endpoint (see docs/agent.md)")};
}

Response HttpApi::role_response(const std::string& role, const Request& req) {
    return role_response(role, *registry_.resolve(role), req);
}

// The answer comes from the caches alone (a role some region has not
// cached yet is filled first, off this thread); a blocking query waits on
// the local region and on the one that answered, so a failover and a
// failback both wake it.
Reply HttpApi::regional_role(const std::string& role, const Target& t, const Request& req) {
    Regions& regions = node_.regions();
    std::optional<std::string> only;
    if (auto it = t.query.find("region"); it != t.query.end()) {
        only = it->second;
        if (!regions.registry_of(*only))
            return {error(req, http::status::not_found,
                          "no region named '" + muster::sdk::utf8_line(*only) + "' (see /v1/status)")};
    }
    auto current = [&regions, role, only] { return only ? regions.cached_in(role, *only) : regions.cached(role); };
    auto answer = current();
    if (!answer) {
        Reply r;
        r.fill = std::optional<std::string>(role);
        return r;
    }
    std::string problem;
    auto blocking = blocking_of(t, problem);
    if (!problem.empty()) return {error(req, http::status::bad_request, problem)};
    if (!blocking || answer->index > blocking->after)
        return {role_response(role, *answer->snapshot, req, answer->region, answer->index)};
    Reply::Wait w;
    w.what = role;
    w.deadline = std::chrono::steady_clock::now() + blocking->wait;
    // Local first: woken by the local region (a failback) and by the one
    // that answered; one region asked by name: by that region alone.
    auto* answering = regions.registry_of(answer->region);
    auto* local = only || answer->local ? nullptr : &registry_;
    auto local_now = local ? local->cached(role) : nullptr;
    std::uint64_t local_index = local_now ? local_now->index : 0;
    w.arm = [local, answering, role, local_index, after = blocking->after](std::function<void()> wake) {
        auto on_answering = std::make_shared<muster::core::IndexWait>(answering->wake_after(role, after, wake));
        auto on_local =
            local ? std::make_shared<muster::core::IndexWait>(local->wake_after(role, local_index, wake)) : nullptr;
        return std::function<void()>([on_answering, on_local] {
            on_answering->cancel();
            if (on_local) on_local->cancel();
        });
    };
    w.answer = [this, current, role, req] {
        auto now = current();
        if (!now) return error(req, http::status::service_unavailable, "the role is no longer cached; ask again");
        return role_response(role, *now->snapshot, req, now->region, now->index);
    };
    Reply r;
    r.wait = std::move(w);
    return r;
}

Response HttpApi::role_response(const std::string& role, const muster::core::RoleSnapshot& snap, const Request& req,
                                const std::string& region, std::optional<std::uint64_t> index) {
    std::uint64_t shown = index.value_or(snap.index);
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& i : snap.instances) instances.push_back(instance_json(i, snap.backend));
    std::int64_t now = muster::sdk::system_ms();
    nlohmann::json body = {{"role", role},
                           {"backend", snap.backend},
                           {"as_of", rfc3339(snap.as_of_ms)},
                           {"age_ms", snap.as_of_ms ? now - snap.as_of_ms : -1},
                           {"stale", snap.stale},
                           {"held", snap.held},
                           {"index", shown},
                           {"instances", std::move(instances)}};
    if (!region.empty()) body["region"] = region;
    auto r = json_response(req, http::status::ok, body);
    r.set("X-Muster-Index", std::to_string(shown));
    return r;
}

std::optional<Response> HttpApi::fill(const std::optional<std::string>& role, const Request& req) {
    try {
        std::optional<std::string> region;
        if (role && node_.regions().configured())
            if (auto t = parse_target(std::string(req.target())))
                if (auto it = t->query.find("region"); it != t->query.end()) region = it->second;
        if (role && region)
            node_.regions().resolve_in(*role, *region);
        else if (role && node_.regions().configured())
            node_.regions().resolve(*role);
        else if (role)
            registry_.resolve(*role);
        else
            registry_.resolve_every_role();
        return std::nullopt;
    } catch (const muster::sdk::Error& e) {
        return error(req, status_of(e.status()), e.what());
    }
}

muster::core::Subscription HttpApi::watch(const std::optional<std::string>& role, muster::core::TopologyCallback cb,
                                          std::shared_ptr<const muster::core::RoleSnapshot>& start) {
    return registry_.watch(role, std::move(cb), start);
}

namespace {

// One line of JSON: a data field ends at a newline.
std::string frame(const char* event, const nlohmann::json& data) {
    return std::string("event: ") + event +
           "\ndata: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

}  // namespace

std::string HttpApi::event_frame(muster_event_type type, const muster::sdk::Instance& i, const std::string& backend) {
    return frame(event_name(type), instance_json(i, backend));
}

std::string HttpApi::synced_frame(const muster::core::RoleSnapshot* start) {
    if (!start) return frame("synced", {{"index", 0}, {"backend", ""}, {"stale", true}, {"instances", 0}});
    return frame("synced", {{"index", start->index},
                            {"backend", start->backend},
                            {"stale", start->stale},
                            {"instances", start->instances.size()}});
}

Response HttpApi::register_instance(const Request& req) {
    nlohmann::json body;
    try {
        body = nlohmann::json::parse(req.body());
        if (!body.is_object()) return error(req, http::status::bad_request, "the body is not a JSON object");
        RegistrationRequest r;
        r.role = body.at("role").get<std::string>();
        r.address = body.at("address").get<std::string>();
        r.id = body.value("id", "");
        if (body.contains("metadata")) r.metadata = body.at("metadata").get<std::map<std::string, std::string>>();
        r.checks = strings(body, "checks");
        r.depends_on = strings(body, "depends_on");
        auto spec = node_.instance(r, CheckAuthority::caller);
        auto reg = std::make_shared<muster::core::Registration>(registry_.register_instance(std::move(spec)));
        std::string id = reg->id();
        std::lock_guard lk(mu_);
        owned_.insert_or_assign(id, std::move(reg));
        return json_response(req, http::status::ok, {{"id", id}});
    } catch (const nlohmann::json::exception& e) {
        return error(
            req, http::status::bad_request,
            std::string("the body is not an instance (role, address; id, metadata, checks, depends_on): ") + e.what());
    } catch (const muster::sdk::Error& e) {
        return error(req, status_of(e.status()), e.what());
    }
}

Response HttpApi::set_health(const Request& req, const std::string& id) {
    try {
        auto body = nlohmann::json::parse(req.body());
        if (!body.is_object()) return error(req, http::status::bad_request, "the body is not a JSON object");
        auto health = muster::sdk::parse_health(body.at("status").get<std::string>());
        if (!health) return error(req, http::status::bad_request, "status is passing, warning or critical");
        std::int64_t ttl = 0;
        if (body.contains("ttl")) {
            auto ms = muster::sdk::parse_duration_ms(body.at("ttl").get<std::string>());
            if (!ms) return error(req, http::status::bad_request, "ttl is a duration (e.g. 30s)");
            ttl = *ms;
        }
        std::shared_ptr<muster::core::Registration> reg;
        {
            std::lock_guard lk(mu_);
            if (auto it = owned_.find(id); it != owned_.end()) reg = it->second;
        }
        if (!reg)
            return error(req, http::status::not_found, "instance " + id + " was not registered through this agent");
        // Written outside mu_: a slow store delays this request alone.
        auto o = reg->set_health(*health, body.value("reason", ""), std::chrono::milliseconds(ttl));
        if (!o.ok()) return error(req, status_of(o.status), o.message);
        return json_response(req, http::status::ok, {{"id", id}, {"health", muster::sdk::health_name(*health)}});
    } catch (const nlohmann::json::exception& e) {
        return error(req, http::status::bad_request,
                     std::string("the body is not {\"status\", \"reason\", \"ttl\"}: ") + e.what());
    }
}

Response HttpApi::deregister(const Request& req, const std::string& id) {
    std::shared_ptr<muster::core::Registration> gone;
    {
        std::lock_guard lk(mu_);
        auto it = owned_.find(id);
        if (it == owned_.end())
            return error(req, http::status::not_found, "instance " + id + " was not registered through this agent");
        gone = std::move(it->second);
        owned_.erase(it);
    }
    auto o = gone->stop();
    if (!o.ok()) return error(req, status_of(o.status), o.message);
    return json_response(req, http::status::ok, {{"id", id}, {"deregistered", true}});
}

}  // namespace host::agent
