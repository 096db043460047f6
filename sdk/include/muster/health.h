/* muster plugin ABI: the health-check kind ("muster.health/1").
 *
 * A health check judges an instance beyond its heartbeats: the host runs it
 * on its own registered instances and stores the verdict with them. */
#ifndef MUSTER_HEALTH_H
#define MUSTER_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "instance.h"
#include "options.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* OWNERSHIP: created by create(), freed only by destroy(). Opaque. */
typedef struct muster_health_check muster_health_check;

/* What create() receives. OWNERSHIP: borrowed for the call; `host` lives
 * for the process. VERSIONING: grows at the end. */
typedef struct muster_health_config {
    uint32_t struct_size;
    uint32_t reserved;
    const muster_host_services* host;
    const muster_option* options;
    size_t option_count;
} muster_health_config;

/* The health-check vtable.
 * OWNERSHIP: static storage in the plugin, valid for the process lifetime.
 * THREADING: the host serialises create() and destroy(); check() is
 *   thread-safe.
 * VERSIONING: grows at the end only; layout frozen in layout.h. */
typedef struct muster_health_v1 {
    uint32_t struct_size;
    uint32_t minor_version;
    uint64_t capabilities; /* none defined yet: zero */
    const char* name;
    const char* description;
    const muster_option_spec* options;
    size_t option_count;

    muster_status (*create)(const muster_health_config* config, muster_health_check** out, muster_error* err);
    void (*destroy)(muster_health_check* check);

    /* Judges `instance` (borrowed for the call) within `timeout_ms`, and
     * writes the verdict to *health. Returns OK when a verdict was reached
     * (a refused connection is a verdict: CRITICAL); any other status means
     * the check itself could not run. err->message gets a one-line reason in
     * both cases (may be empty when passing). Blocks the calling thread for
     * at most timeout_ms. */
    muster_status (*check)(muster_health_check* check, const muster_instance* instance, int64_t timeout_ms,
                           muster_health* health, muster_error* err);
} muster_health_v1;

#ifdef __cplusplus
}
#endif
#endif
