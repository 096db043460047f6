/* muster plugin ABI: services the host offers to plugins. */
#ifndef MUSTER_HOST_H
#define MUSTER_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum muster_log_level {
    MUSTER_LOG_TRACE = 0,
    MUSTER_LOG_DEBUG = 1,
    MUSTER_LOG_INFO = 2,
    MUSTER_LOG_WARN = 3,
    MUSTER_LOG_ERROR = 4
} muster_log_level;

/* The host's services, handed to the plugin at negotiation.
 * OWNERSHIP: owned by the host; valid from negotiation until the process
 *   ends (the host never unloads a plugin), so a plugin may keep the pointer.
 * THREADING: every function here is thread-safe and may be called from any
 *   thread the plugin owns, including from inside watch callbacks.
 * VERSIONING: grows at the end; check struct_size before using a slot
 *   added after minor 0. */
typedef struct muster_host_services {
    uint32_t struct_size;
    uint32_t minor_version;
    /* Opaque; pass it back as the first argument of every function here. */
    void* host_ctx;
    /* Writes one log line. `message` is borrowed for the call. Plugins must
     * never pass a secret (password, token, key) in a message; the host also
     * masks the values of options declared secret. */
    void (*log)(void* host_ctx, muster_log_level level, const char* message);
    /* Wall-clock time in milliseconds since the Unix epoch. Plugins whose
     * store has no clock of its own use this one, so that tests and hosts
     * agree on "now". */
    int64_t (*now_ms)(void* host_ctx);
} muster_host_services;

#ifdef __cplusplus
}
#endif
#endif
