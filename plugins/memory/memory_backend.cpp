// memory: an in-process registry. For monolithic mode (every role in one
// process) and as the conformance suite's reference backend. Nothing
// survives the process; several processes never share it.
#include <muster/cpp/backend.hpp>
#include <muster/cpp/list_filter.hpp>
#include <muster/cpp/option_spec.hpp>
#include <muster/cpp/watch_hub.hpp>

#include <filesystem>
#include <map>
#include <mutex>

namespace {

using muster::sdk::Error;
using muster::sdk::Instance;

class MemoryBackend : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "in-process registry for monolithic mode";
    static constexpr std::uint64_t kCapabilities = MUSTER_BACKEND_CAP_WATCH | MUSTER_BACKEND_CAP_REAP;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::duration_option("sweep",
                                         "longest time before a watcher notices an expiry it was not poked for")
                .defaults_to("1s"),
            muster::sdk::string_option("down_while",
                                       "fault injection: every call fails UNAVAILABLE while this file exists")
                .defaults_to(""),
        };
        return specs;
    }

    explicit MemoryBackend(const muster::sdk::BackendContext& ctx)
            : host_(ctx.host),
              ttl_ms_(ctx.ttl_ms),
              down_while_(ctx.options.get("down_while")),
              hub_([this](muster::sdk::RoleFilter role) { return live(role); },
                   std::chrono::milliseconds(ctx.options.get_duration_ms("sweep", 1000)),
                   [this] { return host_.now_ms(); }, ctx.ttl_ms) {}

    void register_instance(const Instance& in) override {
        fail_if_down();
        {
            std::lock_guard lk(mu_);
            std::int64_t now = host_.now_ms();
            auto it = rows_.find(in.id);
            if (it != rows_.end() && it->second.role != in.role)
                throw Error(MUSTER_CONFLICT, "id " + in.id + " is registered under role '" + it->second.role + "'");
            Instance row = in;
            row.registered_at_ms = it != rows_.end() ? it->second.registered_at_ms : now;
            row.last_seen_ms = now;
            row.stopped_at_ms = 0;
            rows_[in.id] = std::move(row);
        }
        hub_.poke();
    }

    void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) override {
        fail_if_down();
        std::lock_guard lk(mu_);
        std::int64_t now = host_.now_ms();
        for (std::size_t i = 0; i < ids.size(); ++i) {
            auto it = rows_.find(std::string(ids[i]));
            bool known = it != rows_.end() && it->second.stopped_at_ms == 0;
            if (known) it->second.last_seen_ms = now;
            results[i] = known ? MUSTER_OK : MUSTER_NOT_FOUND;
        }
    }

    void deregister(std::string_view id) override {
        fail_if_down();
        {
            std::lock_guard lk(mu_);
            auto it = rows_.find(std::string(id));
            if (it == rows_.end()) throw Error(MUSTER_NOT_FOUND, "no instance with id " + std::string(id));
            if (it->second.stopped_at_ms == 0) it->second.stopped_at_ms = host_.now_ms();
        }
        hub_.poke();
    }

    void list(muster::sdk::RoleFilter role, std::uint32_t flags,
              const std::function<bool(const Instance&)>& sink) override {
        fail_if_down();
        std::vector<Instance> out;
        {
            std::lock_guard lk(mu_);
            std::int64_t now = host_.now_ms();
            for (const auto& [id, row] : rows_) {
                if (role && row.role != *role) continue;
                if (muster::sdk::listed(row, flags, now, ttl_ms_)) out.push_back(row);
            }
        }
        // The sink runs without the lock, so it may call back into us.
        for (const auto& i : out)
            if (!sink(i)) break;
    }

    std::uint64_t reap(std::int64_t retain_ms) override {
        fail_if_down();
        std::uint64_t n = 0;
        {
            std::lock_guard lk(mu_);
            std::int64_t now = host_.now_ms();
            for (auto it = rows_.begin(); it != rows_.end();) {
                if (muster::sdk::reapable(it->second, now, ttl_ms_, retain_ms)) {
                    it = rows_.erase(it);
                    ++n;
                } else {
                    ++it;
                }
            }
        }
        hub_.poke();
        return n;
    }

    std::unique_ptr<muster::sdk::Watch> watch(muster::sdk::RoleFilter role, muster::sdk::WatchSink sink) override {
        return hub_.add(role, sink);
    }

private:
    // A test stands in for a store that went away by creating the file.
    void fail_if_down() const {
        if (!down_while_.empty() && std::filesystem::exists(down_while_))
            throw Error(MUSTER_UNAVAILABLE, "memory: down while " + down_while_ + " exists");
    }

    // What the hub diffs: live instances and recent stops (so a stop is
    // reported as one).
    std::vector<Instance> live(muster::sdk::RoleFilter role) {
        std::vector<Instance> out;
        list(role, MUSTER_LIST_INCLUDE_STOPPED, [&](const Instance& i) {
            out.push_back(i);
            return true;
        });
        return muster::sdk::watch_view(std::move(out), host_.now_ms(), ttl_ms_);
    }

    muster::sdk::Host host_;
    std::int64_t ttl_ms_;
    std::string down_while_;
    std::mutex mu_;
    std::map<std::string, Instance> rows_;
    muster::sdk::WatchHub hub_;  // last: its thread lists through the members above
};

}  // namespace

MUSTER_EXPORT_BACKEND(MemoryBackend, "1.0.0")
