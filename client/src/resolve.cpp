// Resolving a role into a snapshot the caller frees, and watching with a
// callback, through the C API.
#include "handles.hpp"

#include <array>

namespace {

std::shared_ptr<const SnapshotArrays> c_arrays(std::shared_ptr<const muster::core::RoleSnapshot> snap) {
    auto a = std::make_shared<SnapshotArrays>();
    a->snapshot = std::move(snap);
    const auto& s = *a->snapshot;
    a->role = s.role.value_or("");
    a->instances.resize(s.instances.size());
    a->metadata.resize(s.instances.size());
    for (std::size_t i = 0; i < s.instances.size(); ++i)
        muster::sdk::CView::fill(s.instances[i], a->metadata[i], a->instances[i]);
    return a;
}

SnapshotBlock* c_block(std::shared_ptr<const SnapshotArrays> arrays) {
    auto* b = new SnapshotBlock;
    b->arrays = std::move(arrays);
    const auto& a = *b->arrays;
    const auto& s = *a.snapshot;
    b->c.struct_size = sizeof(muster_snapshot);
    b->c.stale = s.stale ? 1 : 0;
    b->c.role = a.role.c_str();
    b->c.instances = a.instances.data();
    b->c.count = a.instances.size();
    b->c.backend = s.backend.c_str();
    b->c.as_of_ms = s.as_of_ms;
    b->c.held = s.held;
    return b;
}

// The block for `snap`: the client's newest for the role when it shows the
// same snapshot at the same as_of_ms, else a new one (the C arrays shared
// with the old block when only as_of_ms moved). Returns it referenced.
SnapshotBlock* view_of(muster_client& client, const char* role,
                       std::shared_ptr<const muster::core::RoleSnapshot> snap) {
    std::lock_guard lk(client.views_mu);
    auto it = client.views.find(std::string_view(role));
    SnapshotBlock* b = it == client.views.end() ? nullptr : it->second;
    if (!b || b->arrays->snapshot != snap || b->c.as_of_ms != snap->as_of_ms) {
        auto arrays = b && b->arrays->snapshot == snap ? b->arrays : c_arrays(std::move(snap));
        auto* next = c_block(std::move(arrays));
        if (b) {
            b->unref();
            it->second = next;
        } else {
            if (client.views.size() >= client.node->settings().registry.max_roles) {
                for (auto& [r, old] : client.views) old->unref();  // names made up by the caller: start over
                client.views.clear();
            }
            client.views.emplace(role, next);
        }
        b = next;
    }
    b->refs.fetch_add(1, std::memory_order_relaxed);
    return b;
}

// The blocks this thread handed out last: a resolve that finds the same
// snapshot again takes its block without the client's lock or map, which
// is most of what a C resolve cost beyond the C++ one. A snapshot belongs
// to one role of one client, so its address is the whole key, and cannot
// be a new snapshot's: each entry holds a reference to its block, which
// holds the snapshot. References are dropped when an entry is replaced or
// the thread exits (a block needs nothing of its client).
struct RecentViews {
    struct Entry {
        const muster::core::RoleSnapshot* snapshot = nullptr;
        std::int64_t as_of_ms = 0;
        SnapshotBlock* block = nullptr;
    };
    std::array<Entry, 4> entries;
    unsigned next = 0;  // the entry replaced next

    ~RecentViews() {
        for (auto& e : entries)
            if (e.block) e.block->unref();
    }
    SnapshotBlock* find(const muster::core::RoleSnapshot& snap) {
        for (auto& e : entries)
            if (e.snapshot == &snap && e.as_of_ms == snap.as_of_ms.load(std::memory_order_relaxed)) return e.block;
        return nullptr;
    }
    void keep(SnapshotBlock* b) {
        Entry& e = entries[next++ % entries.size()];
        if (e.block) e.block->unref();
        b->refs.fetch_add(1, std::memory_order_relaxed);
        e = {b->arrays->snapshot.get(), b->c.as_of_ms, b};
    }
};
thread_local RecentViews recent;

// The block for `role`'s current snapshot, referenced for the caller.
SnapshotBlock* resolve_view(muster_client& client, const char* role) {
    // The common case, a snapshot this thread has a view of, takes no
    // reference on the snapshot itself: the view holds one.
    std::string name(role);
    auto& regions = client.node->regions();
    std::shared_ptr<const muster::core::RoleSnapshot> snap;
    if (regions.configured()) {
        // Local first (docs/regions.md): from the caches when they have it.
        auto cached = regions.cached(name);
        snap = cached ? std::move(cached->snapshot) : regions.resolve(name).snapshot;
    } else {
        if (const auto* seen = client.node->registry().peek(name))
            if (auto* b = recent.find(*seen)) {
                b->refs.fetch_add(1, std::memory_order_relaxed);
                return b;
            }
        snap = client.node->registry().resolve(name);
    }
    if (auto* b = recent.find(*snap)) {
        b->refs.fetch_add(1, std::memory_order_relaxed);
        return b;
    }
    auto* b = view_of(client, role, std::move(snap));
    recent.keep(b);
    return b;
}

}  // namespace

extern "C" {

MUSTER_CLIENT_API muster_status muster_resolve(muster_client* client, const char* role, muster_snapshot** out,
                                               muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!client || !role || !out)
            return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "client, role or out is NULL");
        *out = nullptr;
        *out = &resolve_view(*client, role)->c;
        return MUSTER_OK;
    });
}

MUSTER_CLIENT_API void muster_snapshot_free(muster_snapshot* snapshot) {
    // c is SnapshotBlock's first member: the block starts where it does.
    if (snapshot) reinterpret_cast<SnapshotBlock*>(snapshot)->unref();
}

MUSTER_CLIENT_API muster_status muster_subscribe(muster_client* client, const char* role, muster_topology_fn fn,
                                                 void* user, muster_subscription** out, muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!client || !fn || !out)
            return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "client, fn or out is NULL");
        *out = nullptr;
        auto sub = std::make_unique<muster_subscription>();
        sub->subscription =
            client->node->registry().watch(role ? std::optional<std::string>(role) : std::nullopt,
                                           [fn, user, self = sub.get()](const muster::core::TopologyEvent& e) {
                                               muster::sdk::CView view(e.instance);
                                               client::InCallback in(self);
                                               fn(user, static_cast<uint32_t>(e.type), view.get(), e.backend.c_str());
                                           });
        *out = sub.release();
        return MUSTER_OK;
    });
}

MUSTER_CLIENT_API muster_status muster_unsubscribe(muster_subscription* sub) {
    if (sub && client::InCallback::of(sub)) {
        // Its own callback runs: no later call, but the handle (which that
        // callback is using) is freed by a second call after it returns.
        sub->subscription.cancel();
        return MUSTER_CONFLICT;
    }
    delete sub;
    return MUSTER_OK;
}

}  // extern "C"
