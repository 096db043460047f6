// A created backend, seen from the core: the C vtable behind C++ calls that
// check struct_size and capabilities, mask secrets in messages, and keep
// the plugin's ownership rules (results copied out during the sink, watch
// user data freed only after TERMINATED).
#pragma once

#include <muster/core/plugin_config.hpp>
#include <muster/core/plugin_loader.hpp>
#include <muster/cpp/instance.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace muster::core {

// The outcome of one backend call.
struct Outcome {
    muster_status status = MUSTER_OK;
    std::string message;
    bool ok() const { return status == MUSTER_OK; }
};

// One watch event, owned.
struct BackendEvent {
    muster_event_type type;
    std::optional<sdk::Instance> instance;
    muster_status status = MUSTER_OK;
    std::string message;
};

class BackendClient;

// An active watch; destroying it unwatches (and waits for TERMINATED).
class BackendWatch {
public:
    ~BackendWatch();
    BackendWatch(const BackendWatch&) = delete;
    BackendWatch& operator=(const BackendWatch&) = delete;

private:
    friend class BackendClient;
    struct Sink;
    BackendWatch(std::shared_ptr<BackendClient> owner, muster_watch* w, std::unique_ptr<Sink> sink);
    std::shared_ptr<BackendClient> owner_;
    muster_watch* watch_;
    std::unique_ptr<Sink> sink_;
};

class BackendClient : public std::enable_shared_from_this<BackendClient> {
public:
    // A client for a backend of `plugin` whose options are checked against
    // its schema now (throws sdk::Error(INVALID_ARGUMENT)), but that is
    // created by open(): a store that is down (or hangs) at start-up does
    // not keep a process from starting.
    static std::shared_ptr<BackendClient> prepare(std::shared_ptr<const LoadedPlugin> plugin,
                                                  const std::vector<std::pair<std::string, std::string>>& options,
                                                  std::int64_t ttl_ms);
    // prepare + open, throwing sdk::Error with what the plugin's create
    // returned.
    static std::shared_ptr<BackendClient> create(std::shared_ptr<const LoadedPlugin> plugin,
                                                 const std::vector<std::pair<std::string, std::string>>& options,
                                                 std::int64_t ttl_ms);
    ~BackendClient();

    // Creates the backend if it is not created yet (the plugin's create).
    // Thread-safe; OK once created. Every call below opens first, so a
    // client whose store was away at start-up is created on first use.
    Outcome open();
    bool created() const { return backend_.load(std::memory_order_acquire) != nullptr; }
    BackendClient(const BackendClient&) = delete;
    BackendClient& operator=(const BackendClient&) = delete;

    const std::string& name() const { return name_; }
    bool can(std::uint64_t cap) const { return (vt_->capabilities & cap) == cap; }
    // Takes writes (not MUSTER_BACKEND_CAP_READ_ONLY).
    bool writable() const { return !can(MUSTER_BACKEND_CAP_READ_ONLY); }
    // Whether `role` (nullptr: every role) can be listed here: the plugin's
    // holds_role (ABI 1.1), true for an older plugin, one without the slot,
    // or one not created yet (the call itself then tells).
    bool holds_role(const std::string* role) const;
    const LoadedPlugin& plugin() const { return *plugin_; }

    Outcome register_instance(const sdk::Instance& instance);
    // results gets one status per id.
    Outcome heartbeat(const std::vector<std::string>& ids, std::vector<muster_status>& results);
    Outcome deregister(const std::string& id);
    Outcome list(const std::string* role, std::uint32_t flags, std::vector<sdk::Instance>& out);
    Outcome reap(std::int64_t retain_ms, std::uint64_t& removed);
    // Callbacks run on a plugin thread, one at a time.
    Outcome watch(const std::string* role, std::function<void(const BackendEvent&)> callback,
                  std::unique_ptr<BackendWatch>& out);

private:
    friend class BackendWatch;
    BackendClient(std::shared_ptr<const LoadedPlugin> plugin,
                  const std::vector<std::pair<std::string, std::string>>& options, std::int64_t ttl_ms);
    Outcome outcome(muster_status st, const muster_error& err) const;
    // The created backend, opening it first; nullptr with `why` set when it
    // cannot be created now.
    muster_backend* backend(Outcome& why);

    std::shared_ptr<const LoadedPlugin> plugin_;
    const muster_backend_v1* vt_;
    std::string name_;
    PluginConfig config_;
    std::int64_t ttl_ms_;
    std::mutex open_mu_;  // one create at a time
    std::atomic<muster_backend*> backend_{nullptr};
};

}  // namespace muster::core
