#include "consul_api.hpp"

#include "compose/instance_json.hpp"

#include <muster/core/drain_mark.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

namespace host::agent {

namespace {

using muster::sdk::Instance;
using nlohmann::json;

// The one datacenter muster answers for (regions are not datacenters yet).
constexpr const char* kDatacenter = "dc1";
// What /v1/status/leader names: no Raft here, but tools want a leader.
constexpr const char* kLeader = "127.0.0.1:8300";

struct HostPort {
    std::string host;
    int port = 0;
};

// "10.0.0.5:7001" -> {10.0.0.5, 7001}; "[::1]:80" -> {::1, 80}.
HostPort split(const std::string& address) {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) return {address, 0};
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto port = muster::sdk::parse_int(address.substr(colon + 1));
    return {host, port ? static_cast<int>(*port) : 0};
}

// A stable UUID for a node name (Consul's node ids are UUIDs).
std::string node_id(const std::string& node) {
    static const boost::uuids::name_generator_sha1 generate(boost::uuids::ns::dns());
    return boost::uuids::to_string(generate(node));
}

std::vector<std::string> tags_of(const Instance& i) {
    std::vector<std::string> out;
    auto it = i.metadata.find("tags");
    if (it == i.metadata.end()) return out;
    std::size_t start = 0;
    const std::string& s = it->second;
    while (start <= s.size()) {
        auto comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        std::string tag = s.substr(start, comma - start);
        tag.erase(0, tag.find_first_not_of(' '));
        tag.erase(tag.find_last_not_of(' ') + 1);
        if (!tag.empty()) out.push_back(tag);
        start = comma + 1;
    }
    return out;
}

// The application's metadata: muster's reserved keys and `tags` left out.
json meta_of(const Instance& i) {
    json meta = json::object();
    for (const auto& [k, v] : i.metadata)
        if (k != "tags" && k.rfind(MUSTER_META_RESERVED_PREFIX, 0) != 0) meta[k] = v;
    return meta;
}

json tagged_addresses(const std::string& host) {
    return {{"lan", host}, {"lan_ipv4", host}, {"wan", host}, {"wan_ipv4", host}};
}

json node_json(const std::string& node, std::uint64_t index) {
    return {{"ID", node_id(node)},
            {"Node", node},
            {"Address", node},
            {"Datacenter", kDatacenter},
            {"TaggedAddresses", tagged_addresses(node)},
            {"Meta", json::object()},
            {"CreateIndex", index},
            {"ModifyIndex", index}};
}

json weights() { return {{"Passing", 1}, {"Warning", 1}}; }

json service_json(const Instance& i, std::uint64_t index) {
    auto hp = split(i.address);
    return {{"ID", i.id},           {"Service", i.role},   {"Tags", tags_of(i)},   {"Address", hp.host},
            {"Meta", meta_of(i)},   {"Port", hp.port},     {"Weights", weights()}, {"EnableTagOverride", false},
            {"CreateIndex", index}, {"ModifyIndex", index}};
}

// The instance's health as Consul checks: one for its health, and
// Consul's maintenance check while it is drained.
json checks_json(const Instance& i, std::uint64_t index) {
    auto node = split(i.address).host;
    auto check = [&](std::string id, std::string name, const char* status, std::string notes, std::string output) {
        return json{{"Node", node},      {"CheckID", std::move(id)},  {"Name", std::move(name)},
                    {"Status", status},  {"Notes", std::move(notes)}, {"Output", std::move(output)},
                    {"ServiceID", i.id}, {"ServiceName", i.role},     {"ServiceTags", tags_of(i)},
                    {"Type", ""},        {"CreateIndex", index},      {"ModifyIndex", index}};
    };
    json checks =
        json::array({check("service:" + i.id, "Service '" + i.role + "' check", muster::sdk::health_name(i.health),
                           "muster's health of the instance", health_reason(i))});
    if (muster::core::drained(i))
        checks.push_back(check("_service_maintenance:" + i.id, "Service Maintenance Mode", "critical",
                               "drained in muster", "drained: listed, never picked"));
    return checks;
}

json catalog_json(const Instance& i, std::uint64_t index) {
    auto hp = split(i.address);
    return {{"ID", node_id(hp.host)},
            {"Node", hp.host},
            {"Address", hp.host},
            {"Datacenter", kDatacenter},
            {"TaggedAddresses", tagged_addresses(hp.host)},
            {"NodeMeta", json::object()},
            {"ServiceKind", ""},
            {"ServiceID", i.id},
            {"ServiceName", i.role},
            {"ServiceTags", tags_of(i)},
            {"ServiceAddress", hp.host},
            {"ServiceTaggedAddresses", json::object()},
            {"ServiceWeights", weights()},
            {"ServiceMeta", meta_of(i)},
            {"ServicePort", hp.port},
            {"ServiceEnableTagOverride", false},
            {"ServiceProxy", json::object()},
            {"ServiceConnect", json::object()},
            {"CreateIndex", index},
            {"ModifyIndex", index}};
}

bool passing(const Instance& i) { return i.health == MUSTER_HEALTH_PASSING && !muster::core::drained(i); }

// A flag in Consul's query form: "?passing", "?passing=true" or "=1".
bool flag(const Target& t, const char* name) {
    auto it = t.query.find(name);
    return it != t.query.end() && it->second != "false" && it->second != "0";
}

// An answer with Consul's headers. A stale answer (every backend down) is
// one from a cluster that knows no leader.
Response consul_response(const Request& req, const json& body, std::uint64_t index, bool stale) {
    auto r = json_response(req, http::status::ok, body);
    r.set("X-Consul-Index", std::to_string(std::max<std::uint64_t>(1, index)));
    r.set("X-Consul-KnownLeader", stale ? "false" : "true");
    r.set("X-Consul-LastContact", "0");
    return r;
}

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "muster";
    return buf;
}

}  // namespace

ConsulApi::ConsulApi(muster::core::Registry& registry) : registry_(registry), node_name_(host_name()) {}

std::optional<Reply> ConsulApi::handle(const Target& t, const Request& req) {
    const auto& p = t.path;
    if (p.size() < 3) return std::nullopt;
    const std::string& area = p[1];
    bool ours = (p.size() == 3 &&
                 ((area == "agent" && p[2] == "self") || (area == "status" && (p[2] == "leader" || p[2] == "peers")) ||
                  (area == "catalog" && (p[2] == "datacenters" || p[2] == "services" || p[2] == "nodes")))) ||
                (p.size() == 4 && p[2] == "service" && (area == "catalog" || area == "health"));
    // Consul's writes (service and check registration, catalog register,
    // maintenance) are refused with a pointer to muster's own.
    bool consul_area = area == "agent" || area == "catalog" || area == "health";
    if (req.method() != http::verb::get && (ours || consul_area)) {
        auto r = error(req, http::status::method_not_allowed,
                       "muster serves Consul's API read-only: register through PUT /v1/instances (docs/agent.md)");
        r.set(http::field::allow, "GET");
        return Reply{r};
    }
    if (!ours) return std::nullopt;
    if (auto dc = t.query.find("dc"); dc != t.query.end() && dc->second != kDatacenter)
        return Reply{error(req, http::status::internal_server_error, "No path to datacenter")};

    if (area == "agent")
        return Reply{json_response(req, http::status::ok,
                                   {{"Config",
                                     {{"Datacenter", kDatacenter},
                                      {"NodeName", node_name_},
                                      {"NodeID", node_id(node_name_)},
                                      {"Server", false},
                                      {"Revision", "muster"},
                                      {"Version", "1.15.0"}}},
                                    {"Member",
                                     {{"Name", node_name_},
                                      {"Addr", "127.0.0.1"},
                                      {"Port", 8301},
                                      {"Tags", {{"dc", kDatacenter}, {"role", "node"}}},
                                      {"Status", 1}}},
                                    {"Meta", json::object()}})};
    if (area == "status")
        return Reply{json_response(req, http::status::ok, p[2] == "leader" ? json(kLeader) : json::array({kLeader}))};
    if (p[2] == "datacenters") return Reply{json_response(req, http::status::ok, json::array({kDatacenter}))};

    std::optional<std::string> role;
    if (p.size() == 4) {
        // Consul answers an unknown service with an empty list; a name
        // that cannot be a role is one.
        if (!muster::sdk::check_role(p[3]).empty()) return Reply{consul_response(req, json::array(), 1, false)};
        role = p[3];
    }
    auto snap = role ? registry_.cached(*role) : registry_.cached_every_role();
    if (!snap) {
        Reply r;
        r.fill = role;
        return r;
    }
    std::string problem;
    auto blocking = blocking_of(t, problem);
    if (!problem.empty()) return Reply{error(req, http::status::bad_request, problem)};
    if (!blocking || snap->index > blocking->after) return Reply{answer(t, req, role)};
    Reply r;
    r.wait = index_wait(registry_, role, *blocking, [this, t, req, role] { return answer(t, req, role); });
    return r;
}

Response ConsulApi::answer(const Target& t, const Request& req, const std::optional<std::string>& role) {
    auto snap = role ? registry_.resolve(*role) : registry_.resolve_every_role();
    const std::uint64_t index = std::max<std::uint64_t>(1, snap->index);
    const std::string& what = t.path[2];
    if (!role && what == "services") {
        std::map<std::string, std::set<std::string>> services;
        for (const auto& i : snap->instances) {
            auto& tags = services[i.role];
            for (auto& tag : tags_of(i)) tags.insert(std::move(tag));
        }
        json body = json::object();
        for (const auto& [name, tags] : services) body[name] = tags;
        return consul_response(req, body, index, snap->stale);
    }
    if (!role) {  // nodes
        std::set<std::string> nodes;
        for (const auto& i : snap->instances) nodes.insert(split(i.address).host);
        json body = json::array();
        for (const auto& n : nodes) body.push_back(node_json(n, index));
        return consul_response(req, body, index, snap->stale);
    }
    const bool health = t.path[1] == "health", only_passing = health && flag(t, "passing");
    auto tag = t.query.find("tag");
    json body = json::array();
    for (const auto& i : snap->instances) {
        if (only_passing && !passing(i)) continue;
        if (tag != t.query.end()) {
            auto tags = tags_of(i);
            if (std::find(tags.begin(), tags.end(), tag->second) == tags.end()) continue;
        }
        if (health)
            body.push_back({{"Node", node_json(split(i.address).host, index)},
                            {"Service", service_json(i, index)},
                            {"Checks", checks_json(i, index)}});
        else
            body.push_back(catalog_json(i, index));
    }
    return consul_response(req, body, index, snap->stale);
}

}  // namespace host::agent
