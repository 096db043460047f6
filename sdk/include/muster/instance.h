/* muster plugin ABI: the registered instance, as it crosses the boundary. */
#ifndef MUSTER_INSTANCE_H
#define MUSTER_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum muster_health {
    MUSTER_HEALTH_PASSING = 0,
    MUSTER_HEALTH_WARNING = 1,
    MUSTER_HEALTH_CRITICAL = 2
} muster_health;

/* Field limits, checked by the host and by plugins (rules F1-F5). */
#define MUSTER_ROLE_MAX 63
#define MUSTER_ADDRESS_MAX 255
#define MUSTER_META_KEYS_MAX 64
#define MUSTER_META_KEY_MAX 128
#define MUSTER_META_VALUE_MAX 4096
#define MUSTER_META_TOTAL_MAX 16384

/* Metadata keys muster itself writes (docs/abi.md, "Reserved metadata").
 * A plugin stores them like any other; an application's own keys may not
 * start with the prefix. */
#define MUSTER_META_RESERVED_PREFIX "muster."
/* Why the instance's health is what it is (the worst check's reason, a
 * dependency that is short); absent when passing with nothing to say. */
#define MUSTER_META_HEALTH_REASON "muster.health.reason"
/* The verdict of the instance's own checks alone ("passing", "warning",
 * "critical"), without what its dependencies add: dependency health is
 * derived from it, so a cycle of dependencies cannot feed back. */
#define MUSTER_META_HEALTH_OWN "muster.health.own"
/* Present ("true") while the instance is drained: still listed, never
 * picked for new calls (docs/routing.md). */
#define MUSTER_META_DRAIN "muster.drain"
/* When the drain mark last changed (set or ended), in wall-clock ms since
 * the epoch: the latest change wins, whichever process made it. */
#define MUSTER_META_DRAIN_AT "muster.drain.at"

/* One metadata entry. Keys are unique within an instance.
 * OWNERSHIP: as the instance that holds it. */
typedef struct muster_kv {
    const char* key;   /* [A-Za-z0-9][A-Za-z0-9._/-]* */
    const char* value; /* valid UTF-8, NUL-terminated */
} muster_kv;

/* A service instance.
 * OWNERSHIP: owned by whoever passes it; borrowed by the receiver for the
 *   call or callback only. Copy every field you keep.
 * THREADING: immutable while borrowed.
 * VERSIONING: grows at the end; readers check struct_size.
 * Timestamps are milliseconds since the Unix epoch on the store's clock
 * where it has one; 0 means "never" (stopped_at = 0: not stopped). On
 * register the host leaves registered_at/last_seen/stopped_at at 0 and the
 * store fills them. */
typedef struct muster_instance {
    uint32_t struct_size;
    uint32_t health;     /* muster_health */
    const char* id;      /* canonical lowercase UUID, 36 chars */
    const char* role;    /* [a-z][a-z0-9_-]{0,62} */
    const char* address; /* host:port, [v6]:port */
    const muster_kv* metadata;
    size_t metadata_count;
    int64_t registered_at_ms;
    int64_t last_seen_ms;
    int64_t stopped_at_ms;
} muster_instance;

#ifdef __cplusplus
}
#endif
#endif
