// The conformance suite's frame: numbered rules (docs/abi.md), the context
// each rule runs in, and the checks that fail a rule.
#pragma once

#include <muster/core/backend_client.hpp>
#include <muster/core/plugin_loader.hpp>
#include <muster/core/registry.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace conformance {

using Options = std::vector<std::pair<std::string, std::string>>;

// Thrown by check(): the rule failed, with why.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline void check(bool ok, const std::string& why) {
    if (!ok) throw Failure(why);
}

struct Context {
    std::shared_ptr<const muster::core::LoadedPlugin> plugin;
    Options options;
    std::int64_t ttl_ms = 1000;
    std::string self_exe;    // for rules that spawn writer processes
    std::string plugin_arg;  // as given on the command line
    Options unreachable;     // options pointing at a store that is not there (rule U1)
    std::int64_t unreachable_within_ms = 10000;
    // Read-only plugins (rules R): a role the store the options point at
    // serves with exactly this many instances, and a role the plugin does
    // not hold (both set up by whoever runs the suite).
    std::string fixture_role;
    std::size_t fixture_count = 0;
    std::string unheld_role;

    const muster_backend_v1& vt() const { return *plugin->backend; }
    const muster_health_v1& hvt() const { return *plugin->health; }
    // The option schema of the kind under test (the backend's if both).
    std::pair<const muster_option_spec*, std::size_t> schema() const {
        return plugin->backend ? std::pair(vt().options, vt().option_count)
                               : std::pair(hvt().options, hvt().option_count);
    }
    // Creates the kind under test with `opts` and destroys it again: the
    // status and message of create.
    muster_status raw_create(const Options& opts, muster_error& err) const;
    // How long a rule waits for something the store should do soon (an
    // event, a change seen): 5 s, or 5 ttls when --ttl is longer, so a slow
    // but correct store is given time in proportion.
    std::int64_t patience_ms() const { return std::max<std::int64_t>(5000, 5 * ttl_ms); }
    // "within 5000 ms", for failure messages.
    std::string within() const { return "within " + std::to_string(patience_ms()) + " ms"; }
    // A fresh backend on the configured store.
    std::shared_ptr<muster::core::BackendClient> backend() const;
    // A role no other rule or run uses, so that rules share a store safely.
    std::string fresh_role(const std::string& hint) const;
    muster::sdk::Instance instance(const std::string& role, int port = 7001) const;
};

struct Rule {
    std::string id;  // e.g. "B4", cited in docs/abi.md
    std::string title;
    std::uint64_t needs = 0;   // capability bits; unclaimed ones skip the rule
    bool backend_only = true;  // skipped for a plugin without the backend kind
    std::function<void(Context&)> run;
    bool needs_unreachable = false;  // skipped without --unreachable-option
    bool health_only = false;        // skipped for a plugin without the health kind
};

// Each rules_*.cpp adds its rules here.
std::vector<Rule>& rules();
struct AddRule {
    explicit AddRule(Rule r) { rules().push_back(std::move(r)); }
};

// Heartbeats the ids it is given every ttl/4 from a thread of its own, so
// that a rule waiting on something else does not see them expire.
class KeepAlive {
public:
    KeepAlive(muster::core::BackendClient& b, std::int64_t ttl_ms);
    ~KeepAlive();
    void add(const std::string& id);
    void remove(const std::string& id);

private:
    muster::core::BackendClient& b_;
    std::int64_t ttl_ms_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::string> ids_;
    bool stop_ = false;
    std::thread thread_;
};

// Helpers shared by the rules.
std::vector<muster::sdk::Instance> list(muster::core::BackendClient& b, const std::string* role,
                                        std::uint32_t flags = 0);
bool listed(muster::core::BackendClient& b, const std::string& role, const std::string& id, std::uint32_t flags = 0);
void must(const muster::core::Outcome& o, const std::string& what);
void sleep_ms(std::int64_t ms);
// Polls `pred` until true or `timeout_ms` passes.
bool eventually(std::int64_t timeout_ms, const std::function<bool()>& pred);

// Records events; flags a callback that overlaps another or runs after
// unwatch returned.
struct Recorder {
    std::mutex mu;
    std::vector<muster::core::BackendEvent> events;
    std::atomic<int> inside{0};
    std::atomic<bool> overlapped{false};
    std::atomic<bool> closed{false};
    std::atomic<bool> after_close{false};

    std::function<void(const muster::core::BackendEvent&)> callback() {
        return [this](const muster::core::BackendEvent& ev) {
            if (inside.fetch_add(1) != 0) overlapped = true;
            if (closed) after_close = true;
            {
                std::lock_guard lk(mu);
                events.push_back(ev);
            }
            inside.fetch_sub(1);
        };
    }
    std::vector<muster::core::BackendEvent> snapshot() {
        std::lock_guard lk(mu);
        return events;
    }
    // Events of `type` for `id` (any id when empty).
    std::size_t count(muster_event_type type, const std::string& id = {}) {
        std::size_t n = 0;
        for (const auto& e : snapshot())
            if (e.type == type && (id.empty() || (e.instance && e.instance->id == id))) ++n;
        return n;
    }
    bool wait(std::int64_t timeout_ms, muster_event_type type, const std::string& id = {}) {
        return eventually(timeout_ms, [&] { return count(type, id) > 0; });
    }
};

// Starts a watch of `role` on `b` recording into `r`.
inline std::unique_ptr<muster::core::BackendWatch> start(muster::core::BackendClient& b, const std::string& role,
                                                         Recorder& r) {
    std::unique_ptr<muster::core::BackendWatch> w;
    must(b.watch(&role, r.callback(), w), "watch");
    return w;
}

}  // namespace conformance
