// What the C API's opaque handles are, and the one way every entry point
// turns C++ exceptions into a status and a message (no exception crosses
// the boundary).
#pragma once

#include <muster/client.h>

#include "../src/compose.hpp"
#include "../src/exit_codes.hpp"

#include <muster/core/picker.hpp>
#include <muster/core/registry.hpp>
#include <muster/cpp/error.hpp>
#include <muster/cpp/instance.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

struct muster_client {
    host::Settings settings;
    std::unique_ptr<host::Runtime> runtime;
    std::unique_ptr<muster::core::Registry> registry;
};

struct muster_registration {
    muster::core::Registration registration;
};

// The snapshot the caller reads, and what its pointers point into.
struct SnapshotBlock {
    muster_snapshot c{};  // first: the caller's pointer is to it
    std::shared_ptr<const muster::core::RoleSnapshot> snapshot;
    std::string role;
    std::vector<muster_instance> instances;
    std::vector<std::vector<muster_kv>> metadata;
};

struct muster_subscription {
    muster::core::Subscription subscription;
};

struct muster_picker {
    std::shared_ptr<muster::core::Picker> picker;
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

// The status a muster-host exit code stands for.
inline muster_status status_of(host::ExitCode code) {
    switch (code) {
    case host::kUsage:
    case host::kConfig: return MUSTER_INVALID_ARGUMENT;
    case host::kPlugin: return MUSTER_NOT_FOUND;
    case host::kUnavailable: return MUSTER_UNAVAILABLE;
    default: return MUSTER_INTERNAL;
    }
}

// Runs `f` (which returns a muster_status); any exception becomes its
// status and message in `err` (sdk::guard, plus muster-host's HostError).
template <class F>
muster_status guarded(muster_error* err, F&& f) noexcept {
    return muster::sdk::guard(err, [&]() -> muster_status {
        try {
            return f();
        } catch (const host::HostError& e) {
            throw muster::sdk::Error(status_of(e.code), e.what());
        }
    });
}

// A caller's struct of `size` bytes read into the current layout: fields it
// does not have (an older caller) stay zero.
template <class T>
T versioned(const T* in, const char* what) {
    if (!in) throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT, std::string(what) + " is NULL");
    if (in->struct_size < 2 * sizeof(uint32_t))
        throw muster::sdk::Error(MUSTER_INVALID_ARGUMENT, std::string(what) + "->struct_size is not set");
    T out{};
    std::memcpy(&out, in, std::min<std::size_t>(in->struct_size, sizeof out));
    return out;
}

// An optional C string as a std::string ("" for NULL).
inline std::string text(const char* s) { return s ? s : ""; }

}  // namespace client
