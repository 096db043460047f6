#include "pick_table.hpp"

#include <muster/core/picker.hpp>

#include <muster/core/log.hpp>

#include <algorithm>
#include <array>

namespace muster::core {

using detail::Endpoint;
using detail::PickTable;
using detail::PickTier;

namespace {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// A per-thread generator: no lock, no allocation.
std::uint64_t next_random() {
    thread_local std::uint64_t s = detail::key_hash(std::to_string(reinterpret_cast<std::uintptr_t>(&s)), 7) | 1;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}
double unit_random() { return static_cast<double>(next_random() >> 11) / 9007199254740992.0; }

// Each thread remembers the table it last used of a few pickers, keyed by a
// serial number (not the address, which a new picker may reuse).
std::atomic<std::uint64_t> picker_serials{1};
struct Seen {
    std::uint64_t picker = 0, version = 0;
    std::shared_ptr<const PickTable> table;
    // This thread's round-robin turn for the picker: each thread goes
    // round on its own (from a random start), so no two threads write one
    // counter; every thread's picks, and so their sum, stay even.
    std::uint64_t turn = 0;
};
thread_local std::array<Seen, 8> seen;

const char* const kPolicies[] = {"round_robin", "random", "least_outstanding", "weighted", "maglev"};

}  // namespace

const char* policy_name(PickPolicy p) { return kPolicies[static_cast<int>(p)]; }

std::optional<PickPolicy> parse_policy(std::string_view name) {
    for (int i = 0; i < 5; ++i)
        if (name == kPolicies[i]) return static_cast<PickPolicy>(i);
    return std::nullopt;
}

// ---- Call -------------------------------------------------------------

Call::Call(Call&& o) noexcept { *this = std::move(o); }

Call& Call::operator=(Call&& o) noexcept {
    if (this != &o) {
        finish(-1, {});
        table_ = std::move(o.table_);
        endpoint_ = std::exchange(o.endpoint_, nullptr);
        index_ = o.index_;
        locality_ = o.locality_;
        picker_ = o.picker_;
        counted_ = o.counted_;
    }
    return *this;
}

Call::~Call() { finish(-1, {}); }

const sdk::Instance& Call::instance() const { return *table_->instances[index_]; }
void Call::success(std::chrono::nanoseconds latency) { finish(1, latency); }
void Call::failure(std::chrono::nanoseconds latency) { finish(0, latency); }

// outcome: 1 success, 0 failure, -1 none (the call just ends).
void Call::finish(int outcome, std::chrono::nanoseconds latency) {
    if (!endpoint_) return;
    if (counted_) endpoint_->outstanding.fetch_sub(1, std::memory_order_relaxed);
    if (outcome >= 0) picker_->report(*endpoint_, *table_->instances[index_], outcome == 1, latency);
    endpoint_ = nullptr;
    table_.reset();
}

// ---- Picker -----------------------------------------------------------

Picker::Picker(std::shared_ptr<RoleCache> cache, PickerOptions options)
        : cache_(std::move(cache)), options_(std::move(options)), serial_(picker_serials.fetch_add(1)) {
    cache_->pin();  // the role's cache stays while the picker reads it
}

Picker::~Picker() { cache_->unpin(); }

std::shared_ptr<const PickTable> Picker::table(std::uint64_t** turn) {
    std::uint64_t v = cache_->version();
    Seen& s = seen[serial_ % seen.size()];
    *turn = &s.turn;
    if (s.picker == serial_ && s.version == v) return s.table;
    std::lock_guard lk(mu_);
    if (!latest_ || latest_->version != v) latest_ = build(v);
    if (s.picker != serial_) s.turn = next_random();
    s.picker = serial_;
    s.version = v;
    s.table = latest_;
    return latest_;
}

// Under mu_. Endpoints of instances that left are dropped (an ejected one
// no longer counts against the share).
std::shared_ptr<const PickTable> Picker::build(std::uint64_t version) {
    auto snapshot = cache_->load();
    std::map<std::string, std::shared_ptr<Endpoint>> kept;
    auto t = PickTable::build(version, snapshot, options_, [&](const std::string& id) {
        auto it = endpoints_.find(id);
        auto e = it != endpoints_.end() ? it->second : std::make_shared<Endpoint>();
        kept[id] = e;
        return e;
    });
    for (const auto& [id, e] : endpoints_)
        if (!kept.count(id)) {
            std::lock_guard elk(e->mu);
            if (e->ejected) ejected_.fetch_sub(1);
            e->ejected = false;
        }
    endpoints_ = std::move(kept);
    latest_size_.store(t->instances.size(), std::memory_order_relaxed);
    return t;
}

std::vector<Picker::InstanceStats> Picker::stats() {
    std::uint64_t* turn = nullptr;
    auto t = table(&turn);
    std::vector<InstanceStats> out;
    for (std::size_t k = 0; k < t->instances.size(); ++k) {
        Endpoint& e = *t->endpoints[k];
        std::lock_guard lk(e.mu);
        out.push_back({t->instances[k]->id, t->instances[k]->address, e.outstanding.load(), e.successes, e.failures,
                       e.latency_ms, e.ejected, e.ejections});
    }
    return out;
}

namespace {

// The candidates of a tier by health: passing; warning only when nothing
// passes; everything not drained below the panic threshold.
const std::vector<std::size_t>& group_of(const PickTier& t, double panic, const detail::AliasTable** weights,
                                         int* health) {
    double all = static_cast<double>(t.all.size());
    if (!t.passing.empty() && static_cast<double>(t.passing.size()) >= panic * all) {
        *weights = &t.weighted_passing;
        *health = MUSTER_HEALTH_PASSING;
        return t.passing;
    }
    if (t.passing.empty() && !t.warning.empty() && static_cast<double>(t.warning.size()) >= panic * all) {
        *weights = &t.weighted_warning;
        *health = MUSTER_HEALTH_WARNING;
        return t.warning;
    }
    *weights = &t.weighted_all;
    *health = -1;  // panic: any
    return t.all;
}

}  // namespace

Call Picker::pick(std::string_view key) {
    Call call;
    std::uint64_t* turn = nullptr;
    auto t = table(&turn);
    if (t->tiers.empty()) return call;
    std::uint64_t key_h = key.empty() ? 0 : detail::key_hash(key);
    bool by_key = options_.policy == PickPolicy::maglev && !key.empty();
    // The tier: by share; by the key's hash for maglev, so a key stays put.
    double r = by_key ? static_cast<double>(detail::key_hash(key, 3) >> 11) / 9007199254740992.0 : unit_random();
    const PickTier* tier = &t->tiers.back();
    for (const auto& pt : t->tiers)
        if (r < pt.share_end) {
            tier = &pt;
            break;
        }
    const detail::AliasTable* weights = nullptr;
    int health = -1;
    const auto& group = group_of(*tier, options_.panic_threshold, &weights, &health);
    std::int64_t trial_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.outlier.base_ejection).count();
    auto usable = [&](std::size_t k) { return t->endpoints[k]->available(now_ns, trial_ns); };
    std::size_t n = group.size();
    std::optional<std::size_t> chosen;
    switch (options_.policy) {
    case PickPolicy::round_robin: {
        std::uint64_t start = (*turn)++;
        for (std::size_t i = 0; i < n && !chosen; ++i)
            if (usable(group[(start + i) % n])) chosen = group[(start + i) % n];
        break;
    }
    case PickPolicy::least_outstanding: {
        std::size_t a = group[next_random() % n], b = group[next_random() % n];
        if (n > 1)
            while (b == a) b = group[next_random() % n];
        if (t->endpoints[b]->outstanding.load(std::memory_order_relaxed) <
            t->endpoints[a]->outstanding.load(std::memory_order_relaxed))
            std::swap(a, b);
        if (usable(a))
            chosen = a;
        else if (usable(b))
            chosen = b;
        break;
    }
    case PickPolicy::weighted: {
        std::size_t i = weights->pick(next_random(), unit_random());
        if (usable(group[i])) chosen = group[i];
        break;
    }
    case PickPolicy::maglev:
        if (by_key) {
            const auto& table = tier->maglev;
            std::size_t slot = key_h % table.size();
            // Walk on from the key's slot to the first candidate of the
            // group that is available: only the keys of an instance that
            // cannot serve move.
            for (std::size_t step = 0; step < table.size() && !chosen; ++step) {
                std::size_t k = tier->all[table[(slot + step) % table.size()]];
                if (health >= 0 && static_cast<int>(t->instances[k]->health) != health) continue;
                if (usable(k)) chosen = k;
            }
            break;
        }
        [[fallthrough]];
    case PickPolicy::random:
        if (std::size_t k = group[next_random() % n]; usable(k)) chosen = k;
        break;
    }
    // What the policy found unavailable (ejected): the next one of the group
    // that is, else (every candidate ejected) any candidate.
    if (!chosen) {
        std::size_t start = next_random() % n;
        for (std::size_t i = 0; i < n && !chosen; ++i)
            if (usable(group[(start + i) % n])) chosen = group[(start + i) % n];
        if (!chosen) chosen = group[start];
    }
    call.table_ = std::move(t);
    call.index_ = *chosen;
    call.endpoint_ = call.table_->endpoints[*chosen].get();
    // Calls in flight are counted for the policy that reads them only: the
    // count is a write both threads make to one cache line.
    call.counted_ = options_.policy == PickPolicy::least_outstanding;
    if (call.counted_) call.endpoint_->outstanding.fetch_add(1, std::memory_order_relaxed);
    call.locality_ = tier->name;
    call.picker_ = this;
    return call;
}

void Picker::report(Endpoint& e, const sdk::Instance& instance, bool ok, std::chrono::nanoseconds latency) {
    const OutlierOptions& o = options_.outlier;
    std::int64_t now = now_ns();
    std::lock_guard lk(e.mu);
    (ok ? e.successes : e.failures)++;
    if (latency.count() > 0) {
        double ms = static_cast<double>(latency.count()) / 1e6;
        e.latency_ms = e.latency_ms == 0 ? ms : 0.8 * e.latency_ms + 0.2 * ms;
    }
    auto eject = [&](const char* why) {
        e.ejections++;
        auto span = std::min(o.base_ejection * e.ejections, o.max_ejection);
        e.trial_out.store(false);
        e.ejected_until.store(now + std::chrono::duration_cast<std::chrono::nanoseconds>(span).count(),
                              std::memory_order_release);
        e.consecutive_failures = 0;
        e.window_calls = e.window_failures = 0;
        muster::core::log::warn("routing {}: ejected {} {} for {} ms ({})", instance.role, instance.id,
                                instance.address, span.count(), why);
    };
    if (e.ejected) {
        if (!e.trial_out.exchange(false)) return;  // a late outcome from before the ejection
        if (ok) {
            e.ejected = false;
            e.ejected_until.store(0, std::memory_order_release);
            e.consecutive_failures = 0;
            ejected_.fetch_sub(1);
            muster::core::log::info("routing {}: re-admitted {} {} after a successful trial call", instance.role,
                                    instance.id, instance.address);
        } else {
            eject("its trial call failed");
        }
        return;
    }
    e.consecutive_failures = ok ? 0 : e.consecutive_failures + 1;
    if (now - e.window_start > std::chrono::duration_cast<std::chrono::nanoseconds>(o.window).count()) {
        e.window_start = now;
        e.window_calls = e.window_failures = 0;
    }
    e.window_calls++;
    e.window_failures += ok ? 0 : 1;
    bool by_count = o.consecutive_failures > 0 && e.consecutive_failures >= o.consecutive_failures;
    bool by_rate = o.failure_rate > 0 && e.window_calls >= o.min_calls &&
                   static_cast<double>(e.window_failures) >= o.failure_rate * e.window_calls;
    if (!by_count && !by_rate) return;
    std::size_t role_size = std::max<std::size_t>(1, latest_size_.load(std::memory_order_relaxed));
    std::size_t limit = std::max<std::size_t>(1, static_cast<std::size_t>(o.max_ejected_share * role_size));
    // Taken under the share, or not at all: two instances failing at once
    // cannot both slip past the limit.
    std::size_t now_ejected = ejected_.load();
    do {
        if (now_ejected >= limit) return;  // the share is used up: it keeps serving
    } while (!ejected_.compare_exchange_weak(now_ejected, now_ejected + 1));
    e.ejected = true;
    eject(by_count ? "consecutive failures" : "failure rate");
}

}  // namespace muster::core
