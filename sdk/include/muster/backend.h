/* muster plugin ABI: the backend kind ("muster.backend/1"), a registry store.
 *
 * A backend keeps instances keyed by id, answers lists by role, and
 * optionally pushes changes to watchers. The host composes several backends
 * into a chain; the status each call returns tells the chain what to do
 * (status.h). Rules cited as [Bn] are in docs/abi.md. */
#ifndef MUSTER_BACKEND_H
#define MUSTER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "instance.h"
#include "options.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A live backend: one connection pool / database / bucket binding.
 * OWNERSHIP: created by create(), freed only by destroy(). Opaque. */
typedef struct muster_backend muster_backend;

/* One active watch. OWNERSHIP: created by watch(), invalid once unwatch()
 * returns. Opaque. */
typedef struct muster_watch muster_watch;

/* Capability bits: a plugin claims what it implements; the host and the
 * conformance suite skip what is not claimed. */
/* watch/unwatch work */
#define MUSTER_BACKEND_CAP_WATCH (1ull << 0)
/* several processes may share one store */
#define MUSTER_BACKEND_CAP_SHARED (1ull << 1)
/* reap deletes rows */
#define MUSTER_BACKEND_CAP_REAP (1ull << 2)
/* timestamps come from the store's clock */
#define MUSTER_BACKEND_CAP_SERVER_CLOCK (1ull << 3)
/* ABI 1.1: the backend reads a store that others write (DNS, a cluster's
 * API): register_instance, heartbeat, deregister and reap answer
 * UNSUPPORTED, and a chain sends it no write, nor writes anything back to
 * it when it recovers [R1] */
#define MUSTER_BACKEND_CAP_READ_ONLY (1ull << 4)

/* list() flags. By default only live instances are listed: not stopped and
 * last_seen within the ttl. */
#define MUSTER_LIST_INCLUDE_STOPPED 0x1u
#define MUSTER_LIST_INCLUDE_STALE 0x2u

/* What create() receives.
 * OWNERSHIP: owned by the host, borrowed for the call; `host` itself lives
 *   for the process (see host.h).
 * VERSIONING: grows at the end; check struct_size. */
typedef struct muster_backend_config {
    uint32_t struct_size;
    uint32_t reserved;
    const muster_host_services* host;
    const muster_option* options; /* validated against the schema [O1-O3] */
    size_t option_count;
    int64_t ttl_ms; /* liveness window: last_seen older than this is stale */
} muster_backend_config;

/* Receives one instance of a list().
 * OWNERSHIP: `instance` and everything it points to are valid only during
 *   the call; copy what you keep.
 * THREADING: called on the thread that called list(), never concurrently.
 * Return 0 to continue, non-zero to stop the listing early. */
typedef int (*muster_instance_sink)(void* user, const muster_instance* instance);

typedef enum muster_event_type {
    MUSTER_EVENT_ADDED = 0,     /* an instance became live */
    MUSTER_EVENT_CHANGED = 1,   /* address, metadata or health changed */
    MUSTER_EVENT_REMOVED = 2,   /* stopped, deleted or expired; the instance's
                                   stopped_at_ms is set when the store knows it
                                   was stopped gracefully (explained), 0 when it
                                   just vanished (expired, lost). Its id and
                                   role are always set; the other fields may be
                                   empty when the store no longer has them (a
                                   watcher keeps what it was told) */
    MUSTER_EVENT_SYNCED = 3,    /* the initial state (or a resync) is fully
                                   delivered: the watcher now has it all */
    MUSTER_EVENT_ERROR = 4,     /* the store is in trouble; the watch goes on
                                   and resyncs once it recovers */
    MUSTER_EVENT_TERMINATED = 5 /* the last event of a watch, exactly once */
} muster_event_type;

/* One watch event.
 * OWNERSHIP: owned by the plugin; valid only during the callback.
 * VERSIONING: grows at the end; check struct_size. */
typedef struct muster_watch_event {
    uint32_t struct_size;
    uint32_t type;                   /* muster_event_type */
    const muster_instance* instance; /* ADDED/CHANGED/REMOVED, else NULL */
    int32_t status;                  /* ERROR/TERMINATED: why; else MUSTER_OK */
    int32_t reserved;
    const char* message; /* ERROR/TERMINATED: detail; else NULL */
} muster_watch_event;

/* The watch callback.
 * THREADING: called on a plugin thread, never concurrently for one watch,
 *   never after unwatch() returns [W3]. It must not call unwatch() for its
 *   own watch, and should return quickly (it delays later events). */
typedef void (*muster_watch_fn)(void* user, const muster_watch_event* event);

/* The backend vtable.
 * OWNERSHIP: static storage in the plugin, valid for the process lifetime.
 * THREADING: the host serialises create() and destroy(); every other slot
 *   is thread-safe and may be called concurrently on one backend.
 * VERSIONING: grows at the end only; the host checks struct_size before
 *   touching a slot. Layout frozen in layout.h. */
typedef struct muster_backend_v1 {
    uint32_t struct_size;              /* sizeof(muster_backend_v1) as built */
    uint32_t minor_version;            /* MUSTER_ABI_MINOR the plugin was built with */
    uint64_t capabilities;             /* MUSTER_BACKEND_CAP_* */
    const char* name;                  /* the name used in a chain, e.g. "catalog-sqlite" */
    const char* description;           /* one line */
    const muster_option_spec* options; /* the schema [O1-O3] */
    size_t option_count;

    /* Opens the store (connect, create schema, migrate). Fails with
     * INVALID_ARGUMENT for a bad option value, CONFLICT for a store written
     * by a newer version, UNAVAILABLE if it cannot be reached.
     * On success *out is a new backend; on failure *out is untouched. */
    muster_status (*create)(const muster_backend_config* config, muster_backend** out, muster_error* err);

    /* Closes and frees. The host has unwatched every watch first. */
    void (*destroy)(muster_backend* backend);

    /* Inserts or replaces the instance by id [B1, B2, B10]: address, metadata and
     * health are replaced; registered_at is kept if the id exists, else set
     * to now; last_seen = now; stopped_at is cleared (a stopped instance
     * registered again lives again). CONFLICT if the id exists under another
     * role. INVALID_ARGUMENT for a field that breaks rules F1-F5 [V1]. */
    muster_status (*register_instance)(muster_backend* backend, const muster_instance* instance, muster_error* err);

    /* Sets last_seen = now for each of `count` ids, in as few round trips
     * as the store allows [B3, B8]. results[i] (caller-owned, count entries)
     * gets OK, or NOT_FOUND for an id that is unknown or stopped (it is not
     * revived: the host registers it again instead). Returns OK when the
     * call reached the store, whatever the per-id results. */
    muster_status (*heartbeat)(muster_backend* backend, const char* const* ids, size_t count, muster_status* results,
                               muster_error* err);

    /* Graceful stop: the instance is no longer listed and watchers see it
     * REMOVED at once [B5]. OK also if it was already stopped; NOT_FOUND if
     * the id is unknown. */
    muster_status (*deregister)(muster_backend* backend, const char* id, muster_error* err);

    /* Delivers the instances of `role` (NULL: every role) to `sink`, live
     * ones only unless `flags` asks for more [B4, B6, B7]. An empty answer is OK
     * (not NOT_FOUND). */
    muster_status (*list)(muster_backend* backend, const char* role, uint32_t flags, muster_instance_sink sink,
                          void* user, muster_error* err);

    /* Deletes instances stopped, or stale, for longer than `retain_ms`
     * beyond the ttl [B9]; *removed (may be NULL) gets their number.
     * UNSUPPORTED without MUSTER_BACKEND_CAP_REAP. */
    muster_status (*reap)(muster_backend* backend, int64_t retain_ms, uint64_t* removed, muster_error* err);

    /* Starts a watch of `role` (NULL: every role) [W1-W5]. The callback
     * first gets ADDED for every live instance, then SYNCED, then changes as
     * they happen, in commit order per instance. An instance whose last_seen
     * passes the ttl is reported REMOVED within ttl plus one sweep even if
     * the store says nothing. UNSUPPORTED without MUSTER_BACKEND_CAP_WATCH. */
    muster_status (*watch)(muster_backend* backend, const char* role, muster_watch_fn callback, void* user,
                           muster_watch** out, muster_error* err);

    /* Stops a watch. Before it returns, the callback has received
     * TERMINATED (unless it already had it) and will never run again, so
     * the host may free `user` afterwards [W3]. */
    void (*unwatch)(muster_backend* backend, muster_watch* watch);

    /* ABI 1.1 (check struct_size); NULL: the backend may hold every role.
     * Whether `role` can ever be listed here: a backend that serves some
     * roles only (a map of roles to DNS names) answers 0 for the others,
     * and the chain reads and watches those on its other links without
     * counting this one as failed, even while its breaker is open [R2].
     * Answers from memory, without I/O.
     * THREADING: any thread, concurrently with every other slot. */
    int (*holds_role)(muster_backend* backend, const char* role);
} muster_backend_v1;

#ifdef __cplusplus
}
#endif
#endif
