// Pickers and calls through the C API.
#include "handles.hpp"

extern "C" {

MUSTER_CLIENT_API muster_status muster_picker_open(muster_client* client, const char* role,
                                                   const muster_picker_options* options, muster_picker** out,
                                                   muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!client || !role || !out)
            return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "client, role or out is NULL");
        *out = nullptr;
        muster_picker_options o = options ? client::versioned(options, "options") : muster_picker_options{};
        muster::core::PickerOptions po;
        if (o.policy) {
            auto p = muster::core::parse_policy(o.policy);
            if (!p)
                return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT,
                                              ("policy '" + std::string(o.policy) +
                                               "' is not round_robin, random, least_outstanding, weighted or maglev")
                                                  .c_str());
            po.policy = *p;
        }
        po.locality.zone = client::text(o.zone);
        po.locality.region = client::text(o.region);
        if (o.panic_threshold < 0 || o.panic_threshold > 1)
            return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "panic_threshold is from 0 to 1");
        if (o.panic_threshold > 0) po.panic_threshold = o.panic_threshold;
        auto p = std::make_unique<muster_picker>();
        if (client->node->regions().configured()) {
            p->life = client->life;
            p->regions = &client->node->regions();
            p->role = role;
            p->options = std::move(po);
            p->now();  // checks the role, and caches it, as a picker of one registry does
        } else {
            p->last = client->node->registry().picker(role, std::move(po));
        }
        *out = p.release();
        return MUSTER_OK;
    });
}

MUSTER_CLIENT_API void muster_picker_close(muster_picker* picker) { delete picker; }

MUSTER_CLIENT_API muster_status muster_pick(muster_picker* picker, const char* key, size_t key_len, muster_call** out,
                                            muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!picker || !out) return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "picker or out is NULL");
        *out = nullptr;
        auto from = picker->now();
        auto call = from->pick(key ? std::string_view(key, key_len) : std::string_view());
        if (!call)
            return muster::sdk::set_error(err, MUSTER_NOT_FOUND,
                                          "no instance can be picked (none listed, or all drained)");
        auto c = std::make_unique<muster_call>();
        c->picker = std::move(from);
        c->call = std::move(call);
        muster::sdk::CView::fill(c->call.instance(), c->metadata, c->view);
        *out = c.release();
        return MUSTER_OK;
    });
}

MUSTER_CLIENT_API const muster_instance* muster_call_instance(const muster_call* call) {
    return call ? &call->view : nullptr;
}

MUSTER_CLIENT_API void muster_call_end(muster_call* call, muster_call_outcome outcome, int64_t latency_us) {
    std::unique_ptr<muster_call> owned(call);
    if (!owned) return;
    auto took = std::chrono::microseconds(latency_us < 0 ? 0 : latency_us);
    if (outcome == MUSTER_CALL_SUCCESS) owned->call.success(took);
    if (outcome == MUSTER_CALL_FAILURE) owned->call.failure(took);
}

}  // extern "C"
