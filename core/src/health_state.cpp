#include <muster/core/health_state.hpp>

#include <algorithm>

namespace muster::core {

namespace {

// The published reason stays well inside the metadata limits.
constexpr std::size_t kReasonMax = 512;

std::string clipped(std::string s) {
    if (s.size() <= kReasonMax) return s;
    std::size_t n = kReasonMax;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // not inside a UTF-8 sequence
    s.resize(n);
    return s + "...";
}

void add_reason(std::string& to, const std::string& part) {
    if (part.empty()) return;
    to += (to.empty() ? "" : "; ") + part;
}

}  // namespace

HealthState::HealthState(std::vector<CheckSpec> checks, muster_health dependency_severity)
        : checks_(std::move(checks)), dependency_severity_(dependency_severity), state_(checks_.size()) {}

void HealthState::record(std::size_t i, const HealthResult& r, std::int64_t now_ms) {
    std::lock_guard lk(mu_);
    Check& c = state_.at(i);
    const CheckSpec& spec = checks_.at(i);
    bool passing = r.health == MUSTER_HEALTH_PASSING;
    c.passes = passing ? c.passes + 1 : 0;
    c.failures = passing ? 0 : c.failures + 1;
    c.reason = r.reason;
    if (!c.verdict || (passing && c.passes >= spec.success_before_passing) ||
        (!passing && c.failures >= spec.failures_before_critical)) {
        if (r.health == MUSTER_HEALTH_CRITICAL && c.verdict != MUSTER_HEALTH_CRITICAL) c.critical_since_ms = now_ms;
        c.verdict = r.health;
    }
}

void HealthState::push(muster_health health, std::string reason, std::int64_t ttl_ms, std::int64_t now_ms) {
    std::lock_guard lk(mu_);
    pushed_ = health;
    pushed_reason_ = std::move(reason);
    pushed_ttl_ms_ = ttl_ms;
    pushed_at_ms_ = now_ms;
}

void HealthState::set_dependency_problem(std::optional<std::string> why) {
    std::lock_guard lk(mu_);
    dependency_problem_ = std::move(why);
}

bool HealthState::expires() const {
    std::lock_guard lk(mu_);
    return pushed_ && pushed_ttl_ms_ > 0;
}

HealthState::Verdict HealthState::verdict(std::int64_t now_ms) const {
    std::lock_guard lk(mu_);
    Verdict v;
    std::string why;
    for (std::size_t i = 0; i < checks_.size(); ++i) {
        const Check& c = state_[i];
        muster_health h = c.verdict.value_or(MUSTER_HEALTH_PASSING);
        v.own = std::max(v.own, h);
        if (h != MUSTER_HEALTH_PASSING) add_reason(why, checks_[i].name + ": " + c.reason);
    }
    if (pushed_) {
        bool expired = pushed_ttl_ms_ > 0 && now_ms - pushed_at_ms_ > pushed_ttl_ms_;
        muster_health h = expired ? MUSTER_HEALTH_CRITICAL : *pushed_;
        v.own = std::max(v.own, h);
        if (expired)
            add_reason(why, "pushed: not reported within its ttl of " + std::to_string(pushed_ttl_ms_) + " ms");
        else if (h != MUSTER_HEALTH_PASSING || !pushed_reason_.empty())
            add_reason(why, "pushed: " + pushed_reason_);
    }
    v.health = v.own;
    if (dependency_problem_) {
        v.health = std::max(v.health, dependency_severity_);
        add_reason(why, *dependency_problem_);
    }
    v.reason = clipped(std::move(why));
    return v;
}

std::optional<std::string> HealthState::overdue(std::int64_t now_ms) const {
    std::lock_guard lk(mu_);
    for (std::size_t i = 0; i < checks_.size(); ++i) {
        const auto limit = checks_[i].deregister_critical_after.count();
        if (limit > 0 && state_[i].verdict == MUSTER_HEALTH_CRITICAL && now_ms - state_[i].critical_since_ms >= limit)
            return checks_[i].name;
    }
    return std::nullopt;
}

bool HealthState::apply(const Verdict& v, sdk::Instance& instance) {
    sdk::Instance before = instance;
    instance.health = v.health;
    auto set = [&](const char* key, const std::string& value) {
        if (value.empty())
            instance.metadata.erase(key);
        else
            instance.metadata[key] = value;
    };
    set(MUSTER_META_HEALTH_REASON, v.reason);
    set(MUSTER_META_HEALTH_OWN, v.own == v.health ? "" : sdk::health_name(v.own));
    return !(instance == before);
}

}  // namespace muster::core
