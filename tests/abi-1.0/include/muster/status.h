/* muster plugin ABI: status codes and the caller-owned error struct.
 *
 * Each status tells the chain what to do next, in the spirit of glibc NSS:
 * UNAVAILABLE and TRY_AGAIN move a read on to the next backend; NOT_FOUND is
 * an answer (what it does is a per-link action); the others are final. */
#ifndef MUSTER_STATUS_H
#define MUSTER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum muster_status {
    MUSTER_OK = 0,
    /* The id or role is not in the store. An answer, not a failure. */
    MUSTER_NOT_FOUND = 1,
    /* The store cannot be reached (down, refused, timed out): try the next
     * backend; the breaker counts it. */
    MUSTER_UNAVAILABLE = 2,
    /* A transient failure (busy, lock timeout): retrying may succeed. */
    MUSTER_TRY_AGAIN = 3,
    /* The caller passed a value the ABI forbids; nothing was changed. */
    MUSTER_INVALID_ARGUMENT = 4,
    /* The plugin does not implement this call or capability. */
    MUSTER_UNSUPPORTED = 5,
    /* The store holds something that contradicts the request (e.g. a schema
     * written by a newer version, an existing bucket with other settings). */
    MUSTER_CONFLICT = 6,
    /* A bug or an unexpected failure inside the plugin. */
    MUSTER_INTERNAL = 7
} muster_status;

/* Bounded so that it lives on the caller's stack and nothing is freed across
 * the boundary. */
#define MUSTER_ERROR_MESSAGE_MAX 512

/* Detail of a failed call.
 * OWNERSHIP: owned by the caller, who passes it to every call that can fail;
 *   the callee writes a NUL-terminated message (truncated to fit) and the
 *   status it returns into `code`. Never keep a pointer to it.
 * THREADING: one per call; never shared between concurrent calls. */
typedef struct muster_error {
    int32_t code; /* the muster_status the call returned */
    char message[MUSTER_ERROR_MESSAGE_MAX];
} muster_error;

/* Stable name of a status ("ok", "not_found", ...); never NULL. */
static inline const char* muster_status_name(muster_status s) {
    switch (s) {
    case MUSTER_OK: return "ok";
    case MUSTER_NOT_FOUND: return "not_found";
    case MUSTER_UNAVAILABLE: return "unavailable";
    case MUSTER_TRY_AGAIN: return "try_again";
    case MUSTER_INVALID_ARGUMENT: return "invalid_argument";
    case MUSTER_UNSUPPORTED: return "unsupported";
    case MUSTER_CONFLICT: return "conflict";
    case MUSTER_INTERNAL: return "internal";
    }
    return "unknown";
}

#ifdef __cplusplus
}
#endif
#endif
