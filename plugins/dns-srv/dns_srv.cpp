// dns-srv: a read-only backend for services published in DNS, such as a
// Kubernetes headless Service's ready endpoints
// (_port._proto.service.namespace.svc.zone SRV). A role maps to a DNS name;
// each SRV target:port is an instance whose id is derived from the role,
// the name, the target and the port, so it is the same in every process
// and across restarts. Answers are kept for their TTL clamped to
// [min_ttl, max_ttl], as a DNS client would: lists within it cost nothing,
// and watches (the SDK's WatchHub, re-listing every min(min_ttl, 250 ms),
// which costs nothing while the answer is kept) see a change within a
// quarter of a second after the records' TTL has passed.
#include "resolver.hpp"
#include "role_map.hpp"

#include <muster/cpp/backend.hpp>
#include <muster/cpp/option_spec.hpp>
#include <muster/cpp/watch_hub.hpp>

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <chrono>
#include <map>
#include <mutex>

namespace dns_srv {
namespace {

using muster::sdk::Error;
using muster::sdk::Instance;
using Clock = std::chrono::steady_clock;

// The namespace of the ids derived from DNS (a UUID of our own).
const boost::uuids::uuid kIdNamespace = boost::uuids::string_generator()("8a4c5a61-7f0e-4f1b-9a86-3d2f5c1e0b7d");

// What one answer of a role's name made of it.
struct RoleAnswer {
    Clock::time_point expires;
    std::vector<Instance> instances;  // last_seen set when listed
};

class DnsSrv : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription =
        "read-only: instances from DNS SRV records (Kubernetes headless Services, Consul DNS)";
    static constexpr std::uint64_t kCapabilities = MUSTER_BACKEND_CAP_WATCH | MUSTER_BACKEND_CAP_READ_ONLY;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("roles",
                                       "ROLE=NAME pairs separated by commas, e.g. "
                                       "router=_grpc._tcp.router.prod.svc.cluster.local")
                .defaults_to(""),
            muster::sdk::string_option("template",
                                       "the name of every other role, with {role} in it, e.g. "
                                       "_http._tcp.{role}.prod.svc.cluster.local")
                .defaults_to(""),
            muster::sdk::string_option("servers",
                                       "name servers, IP[:port] separated by commas, tried in order; "
                                       "empty: those of /etc/resolv.conf")
                .defaults_to(""),
            muster::sdk::duration_option("timeout", "how long one server may take to answer").defaults_to("1s"),
            muster::sdk::duration_option("min_ttl", "an answer is kept at least this long").defaults_to("1s"),
            muster::sdk::duration_option("max_ttl", "an answer is kept at most this long").defaults_to("30s"),
        };
        return specs;
    }

    explicit DnsSrv(const muster::sdk::BackendContext& ctx)
            : host_(ctx.host),
              map_(ctx.options.get("roles"), ctx.options.get("template")),
              resolver_(parse_servers(ctx.options.get("servers")), positive(ctx, "timeout", 1000)),
              min_ttl_ms_(positive(ctx, "min_ttl", 1000)),
              max_ttl_ms_(positive(ctx, "max_ttl", 30000)),
              hub_([this](muster::sdk::RoleFilter role) { return live(role); },
                   std::chrono::milliseconds(std::min<std::int64_t>(min_ttl_ms_, 250)), nullptr, 0) {
        if (map_.empty())
            throw Error(MUSTER_INVALID_ARGUMENT,
                        "give option 'roles' (ROLE=NAME, ...) or 'template' (a name with {role}): no role is mapped");
        if (min_ttl_ms_ > max_ttl_ms_)
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'min_ttl' is longer than 'max_ttl': give min_ttl <= max_ttl");
    }

    void register_instance(const Instance&) override { read_only(); }
    void heartbeat(std::span<const std::string_view>, std::span<muster_status>) override { read_only(); }
    void deregister(std::string_view) override { read_only(); }

    bool holds_role(std::string_view role) const override { return map_.name_of(std::string(role)).has_value(); }

    void list(muster::sdk::RoleFilter role, std::uint32_t, const std::function<bool(const Instance&)>& sink) override {
        if (role && !holds_role(*role)) {
            resolver_.probe();  // the host probes a link with a role nobody holds: say whether DNS answers
            return;
        }
        for (const auto& i : live(role))
            if (!sink(i)) return;
    }

    std::unique_ptr<muster::sdk::Watch> watch(muster::sdk::RoleFilter role, muster::sdk::WatchSink sink) override {
        return hub_.add(role, sink);
    }

private:
    static std::int64_t positive(const muster::sdk::BackendContext& ctx, const char* name, std::int64_t fallback) {
        std::int64_t v = ctx.options.get_duration_ms(name, fallback);
        if (v <= 0) throw Error(MUSTER_INVALID_ARGUMENT, std::string("option '") + name + "' must be positive");
        return v;
    }

    [[noreturn]] static void read_only() {
        throw Error(MUSTER_UNSUPPORTED, "dns-srv is read-only: register services in the DNS zone it reads");
    }

    // The instances of `role` (every named role when nullopt), from the
    // kept answer while its TTL lasts, else asked again.
    std::vector<Instance> live(muster::sdk::RoleFilter role) {
        std::vector<Instance> out;
        std::int64_t now = host_.now_ms();
        for (const auto& r : role ? std::vector<std::string>{std::string(*role)} : map_.named_roles()) {
            auto name = map_.name_of(r);
            if (!name) continue;
            for (auto i : answer(r, *name)) {
                i.last_seen_ms = now;  // the answer vouches for it until its TTL passes
                out.push_back(std::move(i));
            }
        }
        return out;
    }

    std::vector<Instance> answer(const std::string& role, const std::string& name) {
        {
            std::lock_guard lk(mu_);
            auto it = answers_.find(role);
            if (it != answers_.end() && Clock::now() < it->second.expires) return it->second.instances;
        }
        SrvAnswer a = resolver_.srv(name);  // throws UNAVAILABLE: the chain serves its last answer, stale
        std::int64_t keep = std::clamp<std::int64_t>(static_cast<std::int64_t>(a.ttl) * 1000, min_ttl_ms_, max_ttl_ms_);
        std::lock_guard lk(mu_);
        RoleAnswer& kept = answers_[role];
        std::map<std::string, std::int64_t> first_seen;
        for (const auto& i : kept.instances) first_seen[i.id] = i.registered_at_ms;
        kept.instances.clear();
        for (const auto& t : a.targets) {
            Instance i;
            i.id = to_string(boost::uuids::name_generator_sha1(kIdNamespace)(role + "\n" + name + "\n" + t.target +
                                                                             "\n" + std::to_string(t.port)));
            i.role = role;
            const std::string& host = t.addresses.empty() ? t.target : t.addresses.front();
            i.address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(t.port);
            if (!muster::sdk::check_address(i.address).empty()) continue;  // a target no instance can be made of
            i.metadata = {{"dns.name", name},
                          {"dns.target", t.target},
                          {"dns.priority", std::to_string(t.priority)},
                          {"dns.weight", std::to_string(t.weight)}};
            auto seen = first_seen.find(i.id);
            i.registered_at_ms = seen != first_seen.end() ? seen->second : host_.now_ms();
            kept.instances.push_back(std::move(i));
        }
        kept.expires = Clock::now() + std::chrono::milliseconds(keep);
        return kept.instances;
    }

    muster::sdk::Host host_;
    RoleMap map_;
    Resolver resolver_;
    std::int64_t min_ttl_ms_, max_ttl_ms_;
    std::mutex mu_;  // guards answers_
    std::map<std::string, RoleAnswer> answers_;
    muster::sdk::WatchHub hub_;  // last: its thread lists through the members above
};

}  // namespace
}  // namespace dns_srv

MUSTER_EXPORT_BACKEND(dns_srv::DnsSrv, "1.0.0")
