// C++ helpers for the muster ABI: the exception a plugin class throws, and
// how a status + message reaches the caller's muster_error.
#pragma once

#include <muster/status.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace muster::sdk {

// Thrown by plugin classes (and by the core's wrappers) to report a status.
// The SDK trampolines turn it into the C status and the caller's message.
class Error : public std::runtime_error {
public:
    Error(muster_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    muster_status status() const noexcept { return status_; }

private:
    muster_status status_;
};

// Writes status and message (truncated, always NUL-terminated) into a
// caller-owned muster_error; tolerates err == nullptr.
inline muster_status set_error(muster_error* err, muster_status status, const char* message) noexcept {
    if (err != nullptr) {
        err->code = status;
        std::size_t n = message ? std::strlen(message) : 0;
        if (n >= MUSTER_ERROR_MESSAGE_MAX) n = MUSTER_ERROR_MESSAGE_MAX - 1;
        if (n > 0) std::memcpy(err->message, message, n);
        err->message[n] = '\0';
    }
    return status;
}

inline void clear_error(muster_error* err) noexcept { set_error(err, MUSTER_OK, ""); }

// Runs `body` and maps every exception to a status: the only place where
// C++ exceptions stop at the boundary. Used by every trampoline.
template <class F>
muster_status guard(muster_error* err, F&& body) noexcept {
    try {
        clear_error(err);
        return body();
    } catch (const Error& e) {
        return set_error(err, e.status(), e.what());
    } catch (const std::bad_alloc&) {
        return set_error(err, MUSTER_INTERNAL, "out of memory");
    } catch (const std::exception& e) {
        return set_error(err, MUSTER_INTERNAL, e.what());
    } catch (...) {
        return set_error(err, MUSTER_INTERNAL, "unknown exception");
    }
}

}  // namespace muster::sdk
