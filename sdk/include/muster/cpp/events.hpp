// C++ helpers for the muster ABI: delivering one watch event to a C
// callback, with the instance borrowed for the call only (rule W3's
// ownership: event data is valid during the callback).
#pragma once

#include <muster/backend.h>
#include <muster/cpp/instance.hpp>

namespace muster::sdk {

inline void emit_event(muster_watch_fn callback, void* user, muster_event_type type, const Instance* instance,
                       muster_status status = MUSTER_OK, const char* message = nullptr) {
    muster_watch_event ev{};
    ev.struct_size = sizeof ev;
    ev.type = static_cast<std::uint32_t>(type);
    ev.status = status;
    ev.message = message;
    if (instance) {
        CView view(*instance);
        ev.instance = view.get();
        callback(user, &ev);
    } else {
        callback(user, &ev);
    }
}

}  // namespace muster::sdk
