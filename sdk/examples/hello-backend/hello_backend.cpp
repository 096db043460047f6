// hello-backend: the smallest complete muster backend, as a third party
// writes one: a class, its option schema, one export macro. It keeps
// registrations in process memory and claims no optional capability, so the
// conformance suite skips the watch, reap and multi-process rules for it.
#include <muster/cpp/backend.hpp>
#include <muster/cpp/list_filter.hpp>
#include <muster/cpp/option_spec.hpp>

#include <map>
#include <mutex>

namespace {

using muster::sdk::Error;
using muster::sdk::Instance;

class HelloBackend : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "example backend from the muster SDK";
    static constexpr std::uint64_t kCapabilities = 0;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("greeting", "logged when the backend starts").defaults_to("hello"),
        };
        return specs;
    }

    explicit HelloBackend(const muster::sdk::BackendContext& ctx) : ctx_(ctx) {
        ctx_.host.log(MUSTER_LOG_INFO, ctx_.options.get("greeting") + " from hello-backend");
    }

    // The SDK has validated `in` already (rules F1-F5).
    void register_instance(const Instance& in) override {
        std::lock_guard lk(mu_);
        auto now = ctx_.host.now_ms();
        auto [it, fresh] = rows_.try_emplace(in.id, in);
        if (!fresh && it->second.role != in.role) throw Error(MUSTER_CONFLICT, "id is registered under another role");
        auto registered = fresh ? now : it->second.registered_at_ms;
        it->second = in;
        it->second.registered_at_ms = registered;
        it->second.last_seen_ms = now;
    }

    void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) override {
        std::lock_guard lk(mu_);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            auto it = rows_.find(std::string(ids[i]));
            results[i] = it == rows_.end() || it->second.stopped_at_ms ? MUSTER_NOT_FOUND : MUSTER_OK;
            if (results[i] == MUSTER_OK) it->second.last_seen_ms = ctx_.host.now_ms();
        }
    }

    void deregister(std::string_view id) override {
        std::lock_guard lk(mu_);
        auto it = rows_.find(std::string(id));
        if (it == rows_.end()) throw Error(MUSTER_NOT_FOUND, "unknown id");
        if (!it->second.stopped_at_ms) it->second.stopped_at_ms = ctx_.host.now_ms();
    }

    void list(muster::sdk::RoleFilter role, std::uint32_t flags,
              const std::function<bool(const Instance&)>& sink) override {
        std::vector<Instance> out;
        {
            std::lock_guard lk(mu_);
            auto now = ctx_.host.now_ms();
            for (const auto& [id, r] : rows_)
                if ((!role || r.role == *role) && muster::sdk::listed(r, flags, now, ctx_.ttl_ms)) out.push_back(r);
        }
        for (const auto& i : out)
            if (!sink(i)) break;
    }

private:
    muster::sdk::BackendContext ctx_;
    std::mutex mu_;
    std::map<std::string, Instance> rows_;
};

}  // namespace

MUSTER_EXPORT_BACKEND(HelloBackend, "0.1.0")
