// The agent's HTTP API as a function from a request to a reply, with no
// I/O of its own (http_server.cpp does the sockets, the fuzzer calls it
// directly): roles (with Consul-style blocking queries), server-sent
// events, registrations made for processes that cannot embed, status,
// health and metrics (docs/agent.md).
#pragma once

#include "compose/node.hpp"
#include "http_reply.hpp"
#include "metrics.hpp"

#include <muster/core/registry.hpp>

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace host::agent {

class ConsulApi;

// What to do with a request.
struct Reply {
    // Answer this now (when none of the below is set).
    Response response;
    // Work that may wait on a backend (a write, its checks' first run): run
    // it on the write pool and answer what it returns.
    std::function<Response()> work{};
    // The role (nullopt inside: every role) is not cached yet:
    // HttpApi::fill() it off the network threads, then handle the request
    // again.
    std::optional<std::optional<std::string>> fill{};
    // A blocking query: answer() once the index it waits on passes (arm()
    // calls `wake` then, on any thread), or at `deadline`.
    struct Wait {
        std::string what;  // for log lines: the role, or "every role"
        std::chrono::steady_clock::time_point deadline;
        // Arms the wake-up; returns what withdraws it. Throws when the
        // index cannot be watched (every cache is in use).
        std::function<std::function<void()>(std::function<void()> wake)> arm;
        std::function<Response()> answer;
    };
    std::optional<Wait> wait{};
    // Server-sent events of a role (nullopt inside: every role).
    std::optional<std::optional<std::string>> stream{};
};

// A blocking query on the index of `role` (nullopt: of every role) past
// `b.after`, answered by `answer` when it moves or the wait is over.
Reply::Wait index_wait(muster::core::Registry& registry, const std::optional<std::string>& role, const Blocking& b,
                       std::function<Response()> answer);

// THREADING: every method may be called from any thread.
class HttpApi {
public:
    HttpApi(Node& node, Metrics& metrics);
    // Deregisters what was registered through the API.
    ~HttpApi();

    // Never waits on a backend: what might is returned as work or fill.
    Reply handle(const Request& req);
    // Caches `role` (nullopt: every role; the first read through the
    // chain); the answer to send instead when it cannot be cached (every
    // cache is in use).
    std::optional<Response> fill(const std::optional<std::string>& role, const Request& req);

    // The role's instances now, with the cache's provenance and index, and
    // with regions the region that answered.
    Response role_response(const std::string& role, const Request& req);
    // `region`, `index`: a regional answer's (regions.hpp, RegionAnswer).
    Response role_response(const std::string& role, const muster::core::RoleSnapshot& snap, const Request& req,
                           const std::string& region = "", std::optional<std::uint64_t> index = std::nullopt);
    // What changes after `start`, the snapshot the stream begins with
    // (null when nothing is known yet).
    muster::core::Subscription watch(const std::optional<std::string>& role, muster::core::TopologyCallback cb,
                                     std::shared_ptr<const muster::core::RoleSnapshot>& start);
    // One event as a server-sent-events frame.
    static std::string event_frame(muster_event_type type, const muster::sdk::Instance& i, const std::string& backend);
    // The frame that ends a stream's first state: {index, backend, stale}
    // of `start` (null: nothing known yet).
    static std::string synced_frame(const muster::core::RoleSnapshot* start);

    Metrics& metrics() { return metrics_; }

private:
    // GET /v1/roles/{role} with regions: local first, or ?region=NAME.
    Reply regional_role(const std::string& role, const Target& t, const Request& req);
    Response register_instance(const Request& req);
    Response set_health(const Request& req, const std::string& id);
    Response deregister(const Request& req, const std::string& id);
    // nullopt: the request may write; otherwise the 401/403 to answer.
    std::optional<Response> refused(const Request& req) const;
    // nullopt: the request may read (no http_read_token, or it or
    // http_token given); otherwise the 401/403 to answer.
    std::optional<Response> unreadable(const Request& req) const;
    // True when a request's Host (or a browser's Origin) names this agent:
    // localhost, a name in http_allowed_hosts, or an IP address it listens
    // on (DNS rebinding needs a name).
    bool host_allowed(std::string_view host) const;

    Node& node_;
    muster::core::Registry& registry_;
    const Settings& settings_;
    Metrics& metrics_;
    std::unique_ptr<ConsulApi> consul_;
    boost::asio::ip::address listen_ip_;
    std::mutex mu_;  // guards owned_
    // Shared, so a health push runs on its registration outside mu_.
    std::map<std::string, std::shared_ptr<muster::core::Registration>> owned_;
};

}  // namespace host::agent
