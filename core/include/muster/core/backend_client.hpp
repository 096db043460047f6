// A created backend, seen from the core: the C vtable behind C++ calls that
// check struct_size and capabilities, mask secrets in messages, and keep
// the plugin's ownership rules (results copied out during the sink, watch
// user data freed only after TERMINATED).
#pragma once

#include <muster/core/plugin_loader.hpp>
#include <muster/cpp/instance.hpp>

#include <functional>
#include <memory>
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
    // Creates a backend from `plugin` with options checked against its
    // schema. Throws sdk::Error (INVALID_ARGUMENT for a bad option, or what
    // the plugin's create returned).
    static std::shared_ptr<BackendClient> create(std::shared_ptr<const LoadedPlugin> plugin,
                                                 const std::vector<std::pair<std::string, std::string>>& options,
                                                 std::int64_t ttl_ms);
    ~BackendClient();
    BackendClient(const BackendClient&) = delete;
    BackendClient& operator=(const BackendClient&) = delete;

    const std::string& name() const { return name_; }
    std::uint64_t capabilities() const { return vt_->capabilities; }
    bool can(std::uint64_t cap) const { return (vt_->capabilities & cap) == cap; }
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
    BackendClient(std::shared_ptr<const LoadedPlugin> plugin, muster_backend* b);
    Outcome outcome(muster_status st, const muster_error& err) const;

    std::shared_ptr<const LoadedPlugin> plugin_;
    const muster_backend_v1* vt_;
    muster_backend* backend_;
    std::string name_;
};

}  // namespace muster::core
