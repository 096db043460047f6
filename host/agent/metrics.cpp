#include "metrics.hpp"

#include <muster/cpp/clock.hpp>
#include <muster/cpp/instance.hpp>

#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

#include <limits>
#include <set>
#include <sstream>

namespace host::agent {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

const std::string kOther = "other";  // a label value outside the fixed set

ClientMetric sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
    ClientMetric m;
    m.label = std::move(labels);
    (type == MetricType::Counter ? m.counter.value : m.gauge.value) = value;
    return m;
}

}  // namespace

// The registry's state, read at each scrape: nothing is counted twice and
// nothing goes stale between scrapes.
class Metrics::RegistryCollector : public prometheus::Collectable {
public:
    explicit RegistryCollector(muster::core::Registry& r) : registry_(r) {}

    std::vector<MetricFamily> Collect() const override {
        std::int64_t now = muster::sdk::system_ms();
        MetricFamily up{
            "muster_link_up", "1 while the link's breaker is closed (calls go to it)", MetricType::Gauge, {}};
        MetricFamily state{
            "muster_link_breaker_state", "the link's breaker state: 1 for the current one", MetricType::Gauge, {}};
        MetricFamily calls{"muster_link_calls_total",
                           "calls to the link (reads, writes, heartbeats, probes)",
                           MetricType::Counter,
                           {}};
        MetricFamily beats{"muster_link_heartbeats_total",
                           "heartbeat calls (one per beat, for every id) to the link",
                           MetricType::Counter,
                           {}};
        MetricFamily transitions{"muster_link_breaker_transitions_total",
                                 "times the link's breaker opened or closed",
                                 MetricType::Counter,
                                 {}};
        MetricFamily pending{"muster_link_pending",
                             "instances the link is out of date about (written back later)",
                             MetricType::Gauge,
                             {}};
        MetricFamily since{"muster_link_seconds_since_success",
                           "time since the link last answered (-1: never)",
                           MetricType::Gauge,
                           {}};
        for (const auto& l : registry_.chain().status()) {
            using State = muster::core::Breaker::State;
            up.metric.push_back(sample({{"backend", l.name}}, l.state == State::closed, MetricType::Gauge));
            for (State s : {State::closed, State::open, State::half_open})
                state.metric.push_back(sample({{"backend", l.name}, {"state", muster::core::Breaker::name(s)}},
                                              l.state == s, MetricType::Gauge));
            calls.metric.push_back(sample({{"backend", l.name}, {"outcome", "success"}},
                                          static_cast<double>(l.counts.successes), MetricType::Counter));
            calls.metric.push_back(sample({{"backend", l.name}, {"outcome", "failure"}},
                                          static_cast<double>(l.counts.failures), MetricType::Counter));
            beats.metric.push_back(sample({{"backend", l.name}, {"outcome", "success"}},
                                          static_cast<double>(l.heartbeats), MetricType::Counter));
            beats.metric.push_back(sample({{"backend", l.name}, {"outcome", "failure"}},
                                          static_cast<double>(l.heartbeat_failures), MetricType::Counter));
            transitions.metric.push_back(sample({{"backend", l.name}, {"to", "open"}},
                                                static_cast<double>(l.counts.opened), MetricType::Counter));
            transitions.metric.push_back(sample({{"backend", l.name}, {"to", "closed"}},
                                                static_cast<double>(l.counts.closed), MetricType::Counter));
            pending.metric.push_back(sample({{"backend", l.name}}, static_cast<double>(l.pending), MetricType::Gauge));
            since.metric.push_back(sample({{"backend", l.name}},
                                          l.last_success_ms ? static_cast<double>(now - l.last_success_ms) / 1000 : -1,
                                          MetricType::Gauge));
        }
        MetricFamily instances{
            "muster_cache_instances", "live instances the role's cache lists", MetricType::Gauge, {}};
        MetricFamily held{"muster_cache_held", "instances the removal guard holds listed", MetricType::Gauge, {}};
        MetricFamily stale{
            "muster_cache_stale", "1 while every backend failed since the role's last answer", MetricType::Gauge, {}};
        MetricFamily age{"muster_cache_age_seconds", "how old the role's answer is", MetricType::Gauge, {}};
        for (const auto& snap : registry_.cached()) {
            std::vector<ClientMetric::Label> role{{"role", snap->role ? *snap->role : "*"}};
            instances.metric.push_back(sample(role, static_cast<double>(snap->instances.size()), MetricType::Gauge));
            held.metric.push_back(sample(role, static_cast<double>(snap->held), MetricType::Gauge));
            stale.metric.push_back(sample(role, snap->stale, MetricType::Gauge));
            age.metric.push_back(sample(role, static_cast<double>(now - snap->as_of_ms) / 1000, MetricType::Gauge));
        }
        MetricFamily events{"muster_watch_events_total",
                            "topology changes the role's cache told its watchers",
                            MetricType::Counter,
                            {}};
        static const char* kTypes[] = {"added", "changed", "removed"};
        for (const auto& [role, counts] : registry_.events())
            for (std::size_t t = 0; t < 3; ++t)
                events.metric.push_back(
                    sample({{"role", role}, {"type", kTypes[t]}}, static_cast<double>(counts[t]), MetricType::Counter));
        MetricFamily runs{
            "muster_check_runs_total", "health check runs, by check and verdict", MetricType::Counter, {}};
        MetricFamily took{"muster_check_duration_seconds", "how long a health check took", MetricType::Histogram, {}};
        for (const auto& c : registry_.check_stats()) {
            for (std::size_t v = 0; v < 3; ++v)
                runs.metric.push_back(
                    sample({{"check", c.name}, {"verdict", muster::sdk::health_name(static_cast<muster_health>(v))}},
                           static_cast<double>(c.runs[v]), MetricType::Counter));
            ClientMetric h;
            h.label = {{"check", c.name}};
            h.histogram.sample_count = c.at_most.back();
            h.histogram.sample_sum = c.seconds;
            for (std::size_t i = 0; i < muster::core::CheckStats::kBuckets.size(); ++i)
                h.histogram.bucket.push_back({c.at_most[i], muster::core::CheckStats::kBuckets[i]});
            h.histogram.bucket.push_back({c.at_most.back(), std::numeric_limits<double>::infinity()});
            took.metric.push_back(std::move(h));
        }
        MetricFamily owned{
            "muster_registrations", "instances this process registered and heartbeats", MetricType::Gauge, {}};
        owned.metric.push_back(sample({}, static_cast<double>(registry_.owned_count()), MetricType::Gauge));
        return {up,   state, calls, beats,  transitions, pending, since, instances,
                held, stale, age,   events, runs,        took,    owned};
    }

private:
    muster::core::Registry& registry_;
};

Metrics::Metrics(muster::core::Registry& registry)
        : metrics_(std::make_shared<prometheus::Registry>()),
          collector_(std::make_shared<RegistryCollector>(registry)),
          http_requests_(prometheus::BuildCounter()
                             .Name("muster_http_requests_total")
                             .Help("HTTP requests answered, by method and status code")
                             .Register(*metrics_)),
          http_seconds_(prometheus::BuildHistogram()
                            .Name("muster_http_request_seconds")
                            .Help("time to answer an HTTP request (a blocking query's wait included)")
                            .Register(*metrics_)
                            .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05,
                                                                             0.1, 0.5, 1, 5, 30, 300})),
          dns_queries_(prometheus::BuildCounter()
                           .Name("muster_dns_queries_total")
                           .Help("DNS queries answered, by protocol and response code")
                           .Register(*metrics_)) {}

void Metrics::dns_query(const std::string& proto, const std::string& rcode) {
    dns_queries_.Add({{"proto", proto}, {"rcode", rcode}}).Increment();
}

void Metrics::http_request(const std::string& method, unsigned code, std::chrono::nanoseconds took) {
    // Label values from fixed sets: no request can add a series.
    static const std::set<std::string> methods = {"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"};
    const std::string& m = methods.count(method) ? method : kOther;
    std::string c = code >= 100 && code <= 599 ? std::to_string(code) : kOther;
    http_requests_.Add({{"method", m}, {"code", c}}).Increment();
    http_seconds_.Observe(std::chrono::duration<double>(took).count());
}

std::string Metrics::text() const {
    auto families = metrics_->Collect();
    auto more = collector_->Collect();
    families.insert(families.end(), more.begin(), more.end());
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

}  // namespace host::agent
