#include <muster/core/drain_mark.hpp>

#include <algorithm>
#include <charconv>
#include <string>

namespace muster::core {

bool drained(const sdk::Instance& inst) { return inst.metadata.count(MUSTER_META_DRAIN) != 0; }

std::int64_t drain_changed_at(const sdk::Instance& inst) {
    auto it = inst.metadata.find(MUSTER_META_DRAIN_AT);
    if (it == inst.metadata.end()) return 0;
    std::int64_t at = 0;
    const std::string& v = it->second;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), at);
    return ec == std::errc() && end == v.data() + v.size() && at > 0 ? at : 0;
}

bool set_drain(sdk::Instance& inst, bool on, std::int64_t now) {
    if (drained(inst) == on) return false;
    if (on)
        inst.metadata[MUSTER_META_DRAIN] = "true";
    else
        inst.metadata.erase(MUSTER_META_DRAIN);
    inst.metadata[MUSTER_META_DRAIN_AT] = std::to_string(std::max(now, drain_changed_at(inst) + 1));
    return true;
}

bool adopt_drain(sdk::Instance& mine, const sdk::Instance& seen) {
    std::int64_t at = drain_changed_at(seen);
    if (at <= drain_changed_at(mine)) return false;
    if (drained(seen))
        mine.metadata[MUSTER_META_DRAIN] = "true";
    else
        mine.metadata.erase(MUSTER_META_DRAIN);
    mine.metadata[MUSTER_META_DRAIN_AT] = std::to_string(at);
    return true;
}

}  // namespace muster::core
