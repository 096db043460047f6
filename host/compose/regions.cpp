#include "regions.hpp"

#include "node.hpp"

#include <muster/core/drain_mark.hpp>
#include <muster/core/log.hpp>

#include <algorithm>

namespace host {

// Another region: a node on its chain that registers nothing.
struct Regions::Remote {
    std::string name;
    std::unique_ptr<Node> node;
    mutable std::atomic<std::uint64_t> answers{0};
};

namespace {

// The settings of another region's node: its chain, the local settings
// otherwise, and nothing that writes (no services, no reaping) or serves.
Settings remote_settings(const Settings& local, const RegionSpec& region) {
    Settings s = local;
    s.chain = region.chain;
    s.unused_backends.clear();
    s.services.clear();
    s.region.clear();
    s.failover.clear();
    s.regions.clear();
    s.registry.reap_interval = std::chrono::milliseconds(0);
    s.http_listen.clear();
    s.dns_listen.clear();
    return s;
}

}  // namespace

Regions::Regions(const Settings& settings, muster::core::Registry& local, const std::filesystem::path& builtin)
        : local_(local), local_name_(settings.region), prewarm_(settings.prewarm) {
    for (const auto& r : settings.regions) {
        auto remote = std::make_unique<Remote>();
        remote->name = r.name;
        // A region that is away at start-up joins when it answers.
        remote->node = std::make_unique<Node>(remote_settings(settings, r), Startup::in_background, builtin);
        remotes_.push_back(std::move(remote));
    }
    for (const auto& name : settings.failover) failover_.push_back(find(name));
}

Regions::~Regions() = default;

Regions::Remote* Regions::find(const std::string& name) const {
    for (const auto& r : remotes_)
        if (r->name == name) return r.get();
    return nullptr;
}

// Reads through the chains what the answer depends on (the local role,
// then the failover regions' until one has an eligible instance), then
// answers from the caches like cached().
RegionAnswer Regions::resolve(const std::string& role) {
    auto local = local_.resolve(role);
    if (configured() && (prewarm_ || !local->any_eligible())) {
        for (auto* r : failover_) {
            try {
                if (r->node->registry().resolve(role)->any_eligible() && !prewarm_) break;
            } catch (const std::exception& e) {
                // A region past its max_roles: the next one is asked.
                muster::core::log::debug("region {}: {}", r->name, e.what());
            }
        }
    }
    if (auto a = cached(role)) return std::move(*a);
    ++local_answers_;
    std::uint64_t index = local->index;
    return {std::move(local), local_name_, true, index};
}

std::optional<RegionAnswer> Regions::resolve_in(const std::string& role, const std::string& name) {
    auto* registry = registry_of(name);
    if (!registry) return std::nullopt;
    auto snap = registry->resolve(role);
    std::uint64_t index = snap->index;
    return RegionAnswer{std::move(snap), name, name == local_name_, index};
}

std::optional<RegionAnswer> Regions::cached(const std::string& role) const {
    auto local = local_.cached(role);
    if (!local) return std::nullopt;
    std::uint64_t local_index = local->index;
    if (!configured() || local->any_eligible()) {
        ++local_answers_;
        return RegionAnswer{std::move(local), local_name_, true, local_index};
    }
    for (auto* r : failover_) {
        auto snap = r->node->registry().cached(role);
        if (!snap) return std::nullopt;
        if (snap->any_eligible()) {
            ++r->answers;
            std::uint64_t index = std::max(snap->index, local_index);
            return RegionAnswer{std::move(snap), r->name, false, index};
        }
    }
    if (prewarm_)
        for (auto* r : failover_)
            if (!r->node->registry().cached(role)) return std::nullopt;
    ++local_answers_;
    return RegionAnswer{std::move(local), local_name_, true, local_index};
}

std::optional<RegionAnswer> Regions::cached_in(const std::string& role, const std::string& name) const {
    auto* registry = registry_of(name);
    auto snap = registry ? registry->cached(role) : nullptr;
    if (!snap) return std::nullopt;
    std::uint64_t index = snap->index;
    return RegionAnswer{std::move(snap), name, name == local_name_, index};
}

muster::core::Registry* Regions::registry_of(const std::string& name) const {
    if (name == local_name_) return &local_;
    Remote* r = find(name);
    return r ? &r->node->registry() : nullptr;
}

std::vector<std::string> Regions::names() const {
    std::vector<std::string> out;
    if (!configured()) return out;
    out.push_back(local_name_);
    for (const auto& r : remotes_) out.push_back(r->name);
    return out;
}

std::vector<Regions::Status> Regions::status() const {
    std::vector<Status> out;
    if (!configured()) return out;
    out.push_back({local_name_, true, local_answers_.load(), local_.cached().size()});
    for (const auto& r : remotes_)
        out.push_back({r->name, false, r->answers.load(), r->node->registry().cached().size()});
    return out;
}

}  // namespace host
