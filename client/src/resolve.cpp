// Resolving a role into a snapshot the caller frees, and watching with a
// callback, through the C API.
#include "handles.hpp"

namespace {

muster_snapshot* c_snapshot(std::shared_ptr<const muster::core::RoleSnapshot> snap) {
    auto b = std::make_unique<SnapshotBlock>();
    b->snapshot = std::move(snap);
    const auto& s = *b->snapshot;
    b->role = s.role.value_or("");
    b->instances.resize(s.instances.size());
    b->metadata.resize(s.instances.size());
    for (std::size_t i = 0; i < s.instances.size(); ++i)
        muster::sdk::CView::fill(s.instances[i], b->metadata[i], b->instances[i]);
    b->c.struct_size = sizeof(muster_snapshot);
    b->c.stale = s.stale ? 1 : 0;
    b->c.role = b->role.c_str();
    b->c.instances = b->instances.data();
    b->c.count = b->instances.size();
    b->c.backend = s.backend.c_str();
    b->c.as_of_ms = s.as_of_ms;
    b->c.held = s.held;
    return &b.release()->c;
}

}  // namespace

extern "C" {

MUSTER_CLIENT_API muster_status muster_resolve(muster_client* client, const char* role, muster_snapshot** out,
                                               muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!client || !role || !out)
            return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "client, role or out is NULL");
        *out = nullptr;
        *out = c_snapshot(client->node->registry().resolve(role));
        return MUSTER_OK;
    });
}

MUSTER_CLIENT_API void muster_snapshot_free(muster_snapshot* snapshot) {
    // c is SnapshotBlock's first member: the block starts where it does.
    delete reinterpret_cast<SnapshotBlock*>(snapshot);
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
