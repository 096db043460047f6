#include "pick_table.hpp"

#include <muster/cpp/options.hpp>

#include <algorithm>
#include <cstdlib>

namespace muster::core::detail {

std::uint64_t key_hash(std::string_view key, std::uint64_t seed) {
    std::uint64_t h = 14695981039346656037ull ^ (seed * 0x9E3779B97F4A7C15ull);
    for (unsigned char c : key) {
        h ^= c;
        h *= 1099511628211ull;
    }
    // A final mix: FNV's low bits are weak for short keys.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

namespace {

// Prime table sizes for Maglev, at least 1000 entries per instance: the
// larger the table, the fewer keys move beyond the leaving instance's.
std::uint32_t maglev_size(std::size_t n) {
    for (std::uint32_t m : {251u, 509u, 1021u, 2039u, 4093u, 8191u, 16381u, 32749u, 65521u})
        if (m >= 1000 * n) return m;
    return 65521u;
}

// Maglev's population (Eisenbud et al., NSDI 2016): every instance walks
// its own permutation of the slots, taking turns, so each gets M/N slots
// and one leaving moves only its own.
std::vector<std::uint32_t> maglev(const std::vector<std::string>& names) {
    std::uint32_t m = maglev_size(names.size());
    std::vector<std::uint64_t> offset, skip, next(names.size(), 0);
    for (const auto& n : names) {
        offset.push_back(key_hash(n, 1) % m);
        skip.push_back(key_hash(n, 2) % (m - 1) + 1);
    }
    std::vector<std::uint32_t> entry(m, UINT32_MAX);
    std::uint32_t filled = 0;
    while (filled < m)
        for (std::size_t i = 0; i < names.size() && filled < m; ++i) {
            std::uint64_t c = (offset[i] + next[i] * skip[i]) % m;
            while (entry[c] != UINT32_MAX) c = (offset[i] + ++next[i] * skip[i]) % m;
            entry[c] = static_cast<std::uint32_t>(i);
            ++next[i];
            ++filled;
        }
    return entry;
}

double weight_of(const sdk::Instance& i) {
    auto it = i.metadata.find("weight");
    if (it == i.metadata.end()) return 1.0;
    char* end = nullptr;
    double w = std::strtod(it->second.c_str(), &end);
    return (end && *end == '\0' && w > 0 && w <= 1e6) ? w : 1.0;
}

std::string meta(const sdk::Instance& i, const char* key) {
    auto it = i.metadata.find(key);
    return it == i.metadata.end() ? "" : it->second;
}

AliasTable weights_of(const std::vector<std::size_t>& members, const std::vector<double>& weight) {
    std::vector<double> w;
    for (auto m : members) w.push_back(weight[m]);
    return AliasTable::build(w);
}

}  // namespace

AliasTable AliasTable::build(const std::vector<double>& weights) {
    AliasTable t;
    std::size_t n = weights.size();
    if (n == 0) return t;
    t.prob.assign(n, 1.0);
    t.alias.resize(n);
    double sum = 0;
    for (double w : weights) sum += w;
    std::vector<double> scaled;
    std::vector<std::size_t> small, large;
    for (std::size_t i = 0; i < n; ++i) {
        scaled.push_back(weights[i] * static_cast<double>(n) / sum);
        (scaled[i] < 1.0 ? small : large).push_back(i);
        t.alias[i] = static_cast<std::uint32_t>(i);
    }
    while (!small.empty() && !large.empty()) {
        std::size_t s = small.back(), l = large.back();
        small.pop_back();
        t.prob[s] = scaled[s];
        t.alias[s] = static_cast<std::uint32_t>(l);
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            large.pop_back();
            small.push_back(l);
        }
    }
    return t;  // what is left has probability 1 (rounding)
}

std::shared_ptr<const PickTable> PickTable::build(
    std::uint64_t version, std::shared_ptr<const RoleSnapshot> snapshot, const PickerOptions& options,
    const std::function<std::shared_ptr<Endpoint>(const std::string& id)>& endpoint_of) {
    auto t = std::make_shared<PickTable>();
    t->version = version;
    t->snapshot = std::move(snapshot);
    std::vector<double> weight;
    const Locality& here = options.locality;
    // Tiers: this zone, the rest of this region, the others (one "any" tier
    // when this process says nothing of where it is).
    std::vector<PickTier> tiers(here.zone.empty() && here.region.empty() ? 1 : 3);
    if (tiers.size() == 3) {
        tiers[0].name = "zone";
        tiers[1].name = "region";
        tiers[2].name = "other";
    }
    for (const auto& inst : t->snapshot->instances) {
        if (inst.metadata.count(MUSTER_META_DRAIN)) continue;  // never picked
        std::size_t k = t->instances.size();
        t->instances.push_back(&inst);
        t->endpoints.push_back(endpoint_of(inst.id));
        weight.push_back(weight_of(inst));
        std::size_t tier = 0;
        if (tiers.size() == 3) {
            bool same_zone = !here.zone.empty() && meta(inst, "zone") == here.zone;
            bool same_region = !here.region.empty() && meta(inst, "region") == here.region;
            tier = same_zone ? 0 : same_region ? 1 : 2;
        }
        PickTier& pt = tiers[tier];
        pt.all.push_back(k);
        if (inst.health == MUSTER_HEALTH_PASSING) pt.passing.push_back(k);
        if (inst.health == MUSTER_HEALTH_WARNING) pt.warning.push_back(k);
    }
    // Each tier's share: its healthy share times the overprovisioning
    // factor, of what the tiers before it left (Envoy's priority load).
    double left = 1.0, total = 0;
    std::vector<double> share;
    for (auto& pt : tiers) {
        double healthy =
            pt.all.empty() ? 0 : static_cast<double>(pt.passing.size()) / static_cast<double>(pt.all.size());
        double s = std::min(left, healthy * options.locality.overprovision);
        share.push_back(s);
        left -= s;
        total += s;
    }
    if (total == 0)  // nothing healthy anywhere: the first tier with members takes all
        for (std::size_t i = 0; i < tiers.size(); ++i)
            if (!tiers[i].all.empty()) {
                share[i] = total = 1;
                break;
            }
    double end = 0;
    for (std::size_t i = 0; i < tiers.size(); ++i) {
        PickTier& pt = tiers[i];
        if (pt.all.empty()) continue;
        end += share[i] / total;
        pt.share_end = end;
        pt.weighted_passing = weights_of(pt.passing, weight);
        pt.weighted_warning = weights_of(pt.warning, weight);
        pt.weighted_all = weights_of(pt.all, weight);
        if (options.policy == PickPolicy::maglev) {
            std::vector<std::string> names;
            for (auto k : pt.all) names.push_back(t->instances[k]->id);
            pt.maglev = maglev(names);
        }
        t->tiers.push_back(std::move(pt));
    }
    if (!t->tiers.empty()) t->tiers.back().share_end = 1.0;  // rounding
    return t;
}

}  // namespace muster::core::detail
