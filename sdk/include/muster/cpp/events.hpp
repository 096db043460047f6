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

// Where a watch delivers its events: the host's callback and user data.
// OWNERSHIP: borrowed from the host for as long as the watch lives.
// THREADING: call it from one thread at a time per watch (rule W2).
class WatchSink {
public:
    WatchSink(muster_watch_fn callback, void* user) : callback_(callback), user_(user) {}
    void operator()(muster_event_type type, const Instance* instance = nullptr, muster_status status = MUSTER_OK,
                    const char* message = nullptr) const {
        emit_event(callback_, user_, type, instance, status, message);
    }

private:
    muster_watch_fn callback_;
    void* user_;
};

// A running watch, owned by the SDK for the host. Its destructor ends it:
// once the destructor returns, the watch never calls its sink again (rule
// W3). The SDK then sends TERMINATED itself, exactly once.
class Watch {
public:
    virtual ~Watch() = default;
};

}  // namespace muster::sdk
