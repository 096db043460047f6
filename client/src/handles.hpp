// What the C API's opaque handles are, and how every entry point reads a
// caller's versioned structs. Exceptions become a status and a message in
// sdk::guard (no exception crosses the boundary); the composition layer's
// SetupError is an sdk::Error, so its status (NOT_FOUND for a missing
// plugin, UNSUPPORTED for one built for another ABI) reaches the caller.
#pragma once

#include <muster/client.h>

#include "compose/node.hpp"

#include <muster/core/picker.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/instance.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

struct muster_registration {
    muster::core::Registration registration;
};

// The C form of one published snapshot's instances, built once per
// snapshot and shared by every muster_snapshot made from it.
struct SnapshotArrays {
    std::shared_ptr<const muster::core::RoleSnapshot> snapshot;
    std::string role;
    std::vector<muster_instance> instances;
    std::vector<std::vector<muster_kv>> metadata;
};

// What a caller's muster_snapshot* points to: the C struct first, then what
// it points into. One block serves every resolve of the same snapshot at
// the same as_of_ms (the struct is read-only to callers, client.h), so a
// resolve from the cache costs a lookup and a reference, not a copy of the
// role; the last muster_snapshot_free (or the client, for its own
// reference) deletes it.
struct SnapshotBlock {
    muster_snapshot c{};  // first: the caller's pointer is to it
    std::shared_ptr<const SnapshotArrays> arrays;
    std::atomic<std::uint32_t> refs{1};

    void unref() {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
};
// muster_snapshot_free turns the caller's pointer back into the block: well
// defined only because a standard-layout object and its first member are
// pointer-interconvertible, which this holds to.
static_assert(std::is_standard_layout_v<SnapshotBlock> && offsetof(SnapshotBlock, c) == 0);

// Looks a role up by its C string, without making a std::string.
struct client_views_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

namespace client {

// Whether the client is still open, for a handle that outlives it and
// reaches into its node (a picker that follows the regions): the client's
// destructor takes it exclusively before the node goes.
struct ClientLife {
    std::shared_mutex mu;
    bool open = true;
};

}  // namespace client

struct muster_client {
    std::unique_ptr<host::Node> node;
    std::shared_ptr<client::ClientLife> life = std::make_shared<client::ClientLife>();
    // The newest SnapshotBlock of each role resolved, holding a reference;
    // at most as many as the registry caches roles.
    std::mutex views_mu;
    std::unordered_map<std::string, SnapshotBlock*, client_views_hash, std::equal_to<>> views;

    ~muster_client() {
        {
            std::unique_lock lk(life->mu);
            life->open = false;
        }
        for (auto& [role, block] : views) block->unref();
    }
};

struct muster_subscription {
    muster::core::Subscription subscription;
};

// A picker of one role. With regions (docs/regions.md) it keeps a picker
// per region that has answered the role and picks with the one of the
// region answering now, so picks never cross regions and follow a
// failover and a failback; once the client is closed, the last one.
struct muster_picker {
    std::shared_ptr<client::ClientLife> life;
    host::Regions* regions = nullptr;  // nullptr: no regions; else valid while life->open
    std::string role;
    muster::core::PickerOptions options;
    std::mutex mu;  // guards the two below
    std::map<std::string, std::shared_ptr<muster::core::Picker>> by_region;
    std::shared_ptr<muster::core::Picker> last;

    // The picker to pick with now. Throws like Registry::picker.
    std::shared_ptr<muster::core::Picker> now() {
        if (!regions) return last;
        std::shared_lock alive(life->mu);
        std::lock_guard lk(mu);
        if (!life->open) return last;
        auto answer = regions->cached(role);
        std::string region = answer ? answer->region : regions->resolve(role).region;
        auto& p = by_region[region];
        if (!p) p = regions->registry_of(region)->picker(role, options);
        last = p;
        return p;
    }
};

// Holds its picker, so a picker closed with calls in flight stays alive
// until they end.
struct muster_call {
    std::shared_ptr<muster::core::Picker> picker;
    muster::core::Call call;
    std::vector<muster_kv> metadata;
    muster_instance view{};
};

namespace client {

// Marks this thread as inside a subscription's callback for as long as it
// lives: what muster_unsubscribe() and muster_client_close() ask, since
// neither can wait for the callback they are called from.
class InCallback {
public:
    explicit InCallback(const muster_subscription* sub) : outer_(current) { current = sub; }
    ~InCallback() { current = outer_; }
    InCallback(const InCallback&) = delete;
    InCallback& operator=(const InCallback&) = delete;

    // True inside `sub`'s callback (nullptr: inside any callback).
    static bool of(const muster_subscription* sub) { return current && (!sub || current == sub); }

private:
    static inline thread_local const muster_subscription* current = nullptr;
    const muster_subscription* outer_;
};

// A caller's struct read into the current layout: fields a caller built
// against an older minor version does not have stay zero. `oldest` is the
// struct's size in version 1.0 (each struct's first layout): anything
// shorter is not a struct of this API, and reading it would tear a pointer.
template <class T>
T versioned(const T* in, const char* what, std::size_t oldest = sizeof(T)) {
    if (!in) throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT, std::string(what) + " is NULL");
    if (in->struct_size < oldest)
        throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT, std::string(what) + "->struct_size is " +
                                                              std::to_string(in->struct_size) + ", less than " +
                                                              std::to_string(oldest) + ": set it to sizeof the struct");
    T out{};
    std::memcpy(&out, in, std::min<std::size_t>(in->struct_size, sizeof out));
    return out;
}

// An array and its count from a caller: NULL with a count is refused.
template <class T>
void check_array(const T* items, std::size_t count, const char* what) {
    if (!items && count > 0)
        throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT,
                                 std::string(what) + " is NULL but its count is " + std::to_string(count));
}

// An optional C string as a std::string ("" for NULL).
inline std::string text(const char* s) { return s ? s : ""; }

}  // namespace client
