// Registering, pushing health, draining and deregistering through the C API.
#include "handles.hpp"

namespace {

host::RegistrationRequest request_of(const muster_service& s) {
    host::RegistrationRequest r;
    r.role = client::text(s.role);
    r.address = client::text(s.address);
    r.id = client::text(s.id);
    client::check_array(s.metadata, s.metadata_count, "metadata");
    client::check_array(s.checks, s.checks_count, "checks");
    client::check_array(s.depends_on, s.depends_on_count, "depends_on");
    for (std::size_t i = 0; i < s.metadata_count; ++i) {
        if (!s.metadata[i].key || !s.metadata[i].value)
            throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT,
                                     "metadata[" + std::to_string(i) + "] has a NULL key or value");
        r.metadata[s.metadata[i].key] = s.metadata[i].value;
    }
    for (std::size_t i = 0; i < s.checks_count; ++i) r.checks.push_back(client::text(s.checks[i]));
    for (std::size_t i = 0; i < s.depends_on_count; ++i) r.depends_on.push_back(client::text(s.depends_on[i]));
    return r;
}

}  // namespace

extern "C" {

MUSTER_CLIENT_API muster_status muster_register(muster_client* client, const muster_service* service,
                                                muster_registration** out, muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!client || !out) return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "client or out is NULL");
        *out = nullptr;
        auto spec =
            client->node->instance(request_of(client::versioned(service, "service")), host::CheckAuthority::caller);
        *out = new muster_registration{client->node->registry().register_instance(std::move(spec))};
        return MUSTER_OK;
    });
}

MUSTER_CLIENT_API const char* muster_registration_id(const muster_registration* reg) {
    return reg ? reg->registration.id().c_str() : "";
}

MUSTER_CLIENT_API muster_status muster_set_health(muster_registration* reg, muster_health health, const char* reason,
                                                  int64_t ttl_ms, muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!reg) return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "reg is NULL");
        if (ttl_ms < 0) return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "ttl_ms is negative");
        auto o = reg->registration.set_health(health, client::text(reason), std::chrono::milliseconds(ttl_ms));
        return o.ok() ? MUSTER_OK : muster::sdk::set_error(err, o.status, o.message.c_str());
    });
}

MUSTER_CLIENT_API muster_status muster_drain(muster_registration* reg, int on, muster_error* err) {
    return muster::sdk::guard(err, [&] {
        if (!reg) return muster::sdk::set_error(err, MUSTER_INVALID_ARGUMENT, "reg is NULL");
        auto o = reg->registration.drain(on != 0);
        return o.ok() ? MUSTER_OK : muster::sdk::set_error(err, o.status, o.message.c_str());
    });
}

MUSTER_CLIENT_API muster_status muster_deregister(muster_registration* reg, muster_error* err) {
    std::unique_ptr<muster_registration> owned(reg);
    return muster::sdk::guard(err, [&] {
        if (!owned) return MUSTER_OK;
        auto o = owned->registration.stop();
        return o.ok() ? MUSTER_OK : muster::sdk::set_error(err, o.status, o.message.c_str());
    });
}

}  // extern "C"
