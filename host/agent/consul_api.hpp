// The read side of Consul's HTTP API, mapped from roles and instances, so
// that tools which speak Consul (Prometheus' consul_sd, Consul client
// libraries, templating and proxy tools) discover through muster unchanged
// (docs/agent.md, "Consul's API"):
//
//   GET /v1/agent/self                 what tools read at start (datacenter)
//   GET /v1/status/leader, /peers      "a leader is known"
//   GET /v1/catalog/datacenters        ["dc1"]
//   GET /v1/catalog/services           every role with instances, and its tags
//   GET /v1/catalog/nodes              the hosts instances run on
//   GET /v1/catalog/service/<role>     the role's instances, catalog form
//   GET /v1/health/service/<role>      the same with their checks (?passing)
//
// A role is a service, an instance a service instance (its id, address and
// port; its metadata the service meta, and its tags the `tags` metadata
// key, comma-separated), the host of its address its node. Health maps to
// one check per instance (passing, warning, critical, the reason as its
// output); a drained instance also has Consul's maintenance check
// (critical). Blocking queries (?index, ?wait) wait on the role's index, or
// on the index of every role for the catalog's lists; every answer carries
// X-Consul-Index, X-Consul-KnownLeader and X-Consul-LastContact. Writes are
// refused: they stay on muster's own API.
#pragma once

#include "http_api.hpp"
#include "http_reply.hpp"

#include <muster/core/registry.hpp>

#include <optional>
#include <string>

namespace host::agent {

// THREADING: every method may be called from any thread.
class ConsulApi {
public:
    explicit ConsulApi(muster::core::Registry& registry);

    // The reply to a request under /v1/ that is Consul's; nullopt for any
    // other path (muster's own).
    std::optional<Reply> handle(const Target& t, const Request& req);

private:
    // The answer for `role` (nullopt: a list over every role) as the path
    // asks, from the cache now.
    Response answer(const Target& t, const Request& req, const std::optional<std::string>& role);

    muster::core::Registry& registry_;
    std::string node_name_;  // this host's name, the agent's node
};

}  // namespace host::agent
