// The agent's /metrics: its own counters (HTTP requests by method and code,
// their durations) kept in a prometheus-cpp registry, and the registry's
// state (links, breakers, caches, registrations) read at each scrape, all
// in the Prometheus text format (docs/agent.md, "Metrics").
#pragma once

#include <muster/core/registry.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>

namespace host::agent {

// THREADING: every method may be called from any thread.
class Metrics {
public:
    explicit Metrics(muster::core::Registry& registry);
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // One HTTP request answered with `code` after `took`.
    void http_request(const std::string& method, unsigned code, std::chrono::nanoseconds took);

    // One DNS query over `proto` ("udp", "tcp") answered with `rcode`.
    void dns_query(const std::string& proto, const std::string& rcode);

    // Everything, in the text exposition format 0.0.4.
    std::string text() const;

private:
    class RegistryCollector;
    std::shared_ptr<prometheus::Registry> metrics_;
    std::shared_ptr<RegistryCollector> collector_;
    prometheus::Family<prometheus::Counter>& http_requests_;
    prometheus::Histogram& http_seconds_;
    prometheus::Family<prometheus::Counter>& dns_queries_;
};

}  // namespace host::agent
