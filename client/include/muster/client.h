/* muster client API: embedding service discovery from C and any language
 * with a C FFI (libmuster, docs/embedding.md).
 *
 * A client is what muster-host runs on: a chain of backend plugins from
 * the same settings, a registry that heartbeats what it registered,
 * health checks, caches that answer resolves without a backend call, and
 * pickers. Handles are opaque; every call that can fail returns a
 * muster_status and fills a caller-owned muster_error (status.h). No C++
 * exception crosses this boundary.
 *
 * THREADING (all calls unless a call says otherwise): thread-safe. A handle
 * may be used from any thread, but not while, or after, it is freed.
 * VERSIONING: structs the caller fills start with struct_size and only
 * grow at the end; set struct_size = sizeof(the struct) as compiled.
 * Functions are only added. The library's SONAME follows the major
 * version. */
#ifndef MUSTER_CLIENT_H
#define MUSTER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <muster/backend.h> /* muster_event_type */
#include <muster/host.h>    /* muster_log_level */
#include <muster/instance.h>
#include <muster/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MUSTER_CLIENT_VERSION_MAJOR 1
#define MUSTER_CLIENT_VERSION_MINOR 2

#if defined(__GNUC__)
#define MUSTER_CLIENT_API __attribute__((visibility("default")))
#else
#define MUSTER_CLIENT_API
#endif

/* The version of the library actually loaded: major << 16 | minor. A
 * program built against MUSTER_CLIENT_VERSION_MINOR n may use what minor n
 * added only when the loaded minor is at least n. */
MUSTER_CLIENT_API uint32_t muster_client_version(void);

/* ---- Logging ----------------------------------------------------------- */

/* One line of muster's log (the clients', their plugins'): the text without
 * time or level. OWNERSHIP: `message` is borrowed for the call. */
typedef void (*muster_log_fn)(void* user, muster_log_level level, const char* message);

/* Sends muster's log lines to `fn` instead of stderr; NULL sends them to
 * stderr again. Which lines: those at or above the log level of the client
 * opened last (its "log-level" setting; warn unless set). Process-wide:
 * the library has one log, whatever the number of clients, and it is not
 * the application's (spdlog's default logger is left alone).
 * THREADING: `fn` runs on the thread that logs, one line at a time; it must
 * not call muster (it would wait for itself). Added in 1.2. */
MUSTER_CLIENT_API void muster_set_log(muster_log_fn fn, void* user);

/* ---- The client -------------------------------------------------------- */

/* OWNERSHIP: created by muster_client_open(), freed by
 * muster_client_close(). Opaque. */
typedef struct muster_client muster_client;

/* Where the client's settings come from: the settings muster-host reads
 * (docs/operations.md), in rising precedence: the configuration (a file or
 * its text), the environment (MUSTER_*), then `settings`.
 * OWNERSHIP: borrowed for the call.
 * VERSIONING: grows at the end. */
typedef struct muster_client_config {
    uint32_t struct_size;
    uint32_t reserved; /* 0 */
    /* A muster-host configuration file, or NULL. */
    const char* config_path;
    /* The same as text, or NULL. Not together with config_path. */
    const char* config_text;
    /* Settings by their command-line names, without "--":
     * {"heartbeat-interval", "500ms"}, {"chain", "nats-kv, catalog-sqlite"},
     * {"backend-option", "catalog-sqlite.path=/var/lib/app/muster.db"}.
     * A repeatable setting (backend-option, plugin-dir) repeats the key. */
    const muster_kv* settings;
    size_t settings_count;
} muster_client_config;

/* Loads the chain's plugins (by name from the "plugin-dir" settings, then
 * from lib/muster/plugins beside this library), checks every option, and
 * starts the client. A backend that is down does not fail the open: it
 * joins when it answers.
 * Errors: INVALID_ARGUMENT (a bad setting, or a file that is no muster
 * plugin: the message names it and where it was set), NOT_FOUND (a plugin
 * is missing), UNSUPPORTED (a plugin built for another ABI, or one without
 * the backend or check it is named for), CONFLICT (a store refused its
 * options), INTERNAL. */
MUSTER_CLIENT_API muster_status muster_client_open(const muster_client_config* config, muster_client** out,
                                                   muster_error* err);

/* Deregisters every instance the client registered, ends its watches and
 * frees it. NULL is fine. Handles made from it may still be used and must
 * still be freed: registrations are then deregistered already, and
 * snapshots, pickers and subscriptions see no more changes.
 * THREADING: may be called from a subscription's callback: it then
 *   returns at once and the client is closed on another thread after the
 *   callback returns. */
MUSTER_CLIENT_API void muster_client_close(muster_client* client);

/* ---- Registering ------------------------------------------------------- */

/* OWNERSHIP: created by muster_register(), freed by muster_deregister().
 * Opaque. */
typedef struct muster_registration muster_registration;

/* An instance to register.
 * OWNERSHIP: borrowed for the call.
 * VERSIONING: grows at the end. */
typedef struct muster_service {
    uint32_t struct_size;
    uint32_t reserved;   /* 0 */
    const char* role;    /* [a-z][a-z0-9_-]{0,62} */
    const char* address; /* host:port */
    const char* id;      /* a UUID, or NULL for a new one */
    const muster_kv* metadata;
    size_t metadata_count;
    /* Checks by name: a [check.NAME] of the configuration only (never a
     * plugin name or a path: nothing is loaded because of a call). */
    const char* const* checks;
    size_t checks_count;
    /* Roles this instance needs, as `depends_on`: "router" or "router:2"
     * (at least two passing). */
    const char* const* depends_on;
    size_t depends_on_count;
} muster_service;

/* Registers an instance (after its checks' first verdicts); the client
 * heartbeats it until muster_deregister() or muster_client_close().
 * Errors: INVALID_ARGUMENT, CONFLICT (the id is registered by this client),
 * UNAVAILABLE (no backend took it). */
MUSTER_CLIENT_API muster_status muster_register(muster_client* client, const muster_service* service,
                                                muster_registration** out, muster_error* err);

/* The instance's id (a UUID). OWNERSHIP: valid while the handle lives. */
MUSTER_CLIENT_API const char* muster_registration_id(const muster_registration* reg);

/* The application's own verdict (Consul's TTL check), combined with the
 * checks (the worst wins); with ttl_ms > 0 it turns critical unless pushed
 * again within ttl_ms. `reason` may be NULL. */
MUSTER_CLIENT_API muster_status muster_set_health(muster_registration* reg, muster_health health, const char* reason,
                                                  int64_t ttl_ms, muster_error* err);

/* Drains the instance (on = 1: listed, never picked for new calls) or ends
 * the drain (on = 0) (docs/routing.md). */
MUSTER_CLIENT_API muster_status muster_drain(muster_registration* reg, int on, muster_error* err);

/* Deregisters the instance and frees the handle, which is freed even when
 * the deregistration fails (the instance then expires after the ttl).
 * NULL is fine. */
MUSTER_CLIENT_API muster_status muster_deregister(muster_registration* reg, muster_error* err);

/* ---- Resolving --------------------------------------------------------- */

/* The live instances of a role, from the client's cache.
 * OWNERSHIP: owned by the library, read-only (resolves of the same cached
 *   answer may return the same struct to several callers); every pointer
 *   in it is valid until muster_snapshot_free().
 * VERSIONING: grows at the end; check struct_size. */
typedef struct muster_snapshot {
    uint32_t struct_size;
    uint32_t stale; /* 1: every backend failed since as_of_ms; the last good answer */
    const char* role;
    const muster_instance* instances; /* by id */
    size_t count;
    const char* backend; /* the backend that answered */
    int64_t as_of_ms;    /* wall clock when last known current */
    size_t held;         /* instances kept by the mass-removal guard */
} muster_snapshot;

/* The instances of `role`. The first resolve of a role reads through the
 * chain and starts a watch; later ones are answered from the cache. While
 * no backend answers, the last good answer comes back with stale = 1 (an
 * empty one if there never was one): not an error.
 * Errors: INVALID_ARGUMENT (not a role name). */
MUSTER_CLIENT_API muster_status muster_resolve(muster_client* client, const char* role, muster_snapshot** out,
                                               muster_error* err);

/* NULL is fine. */
MUSTER_CLIENT_API void muster_snapshot_free(muster_snapshot* snapshot);

/* ---- Watching ---------------------------------------------------------- */

/* OWNERSHIP: created by muster_subscribe(), freed by muster_unsubscribe().
 * Opaque. */
typedef struct muster_subscription muster_subscription;

/* A change of topology: type is MUSTER_EVENT_ADDED, _CHANGED or _REMOVED
 * (backend.h); `backend` is the backend that reported it.
 * OWNERSHIP: `instance` and `backend` are valid during the call only.
 * THREADING: runs on a library thread, one event at a time per
 *   subscription, and should return quickly. It may call any function of
 *   this API (deregister, subscribe, unsubscribe another subscription,
 *   resolve, close the client); muster_unsubscribe() of its own
 *   subscription there stops later calls and answers MUSTER_CONFLICT
 *   (see there). */
typedef void (*muster_topology_fn)(void* user, uint32_t type, const muster_instance* instance, const char* backend);

/* Calls `fn` first with ADDED for every instance already known, then with
 * each change. role = NULL watches every role. `user` is passed back
 * untouched. */
MUSTER_CLIENT_API muster_status muster_subscribe(muster_client* client, const char* role, muster_topology_fn fn,
                                                 void* user, muster_subscription** out, muster_error* err);

/* Ends the subscription and frees it: once it returns, `fn` is never
 * called again (a call in progress on another thread is waited for).
 * NULL is fine.
 * Errors: CONFLICT when called from `sub`'s own callback: `fn` is not
 *   called again after that callback returns, but `sub` is not freed
 *   (the callback is using it): call muster_unsubscribe(sub) again once
 *   the callback has returned (from another thread, say). (1.0 declared
 *   this function void; the return value is new in 1.1 and a 1.0 caller
 *   may ignore it.) */
MUSTER_CLIENT_API muster_status muster_unsubscribe(muster_subscription* sub);

/* ---- Picking ----------------------------------------------------------- */

/* OWNERSHIP: created by muster_picker_open(), freed by
 * muster_picker_close() (calls in flight stay valid). Opaque. */
typedef struct muster_picker muster_picker;
/* OWNERSHIP: created by muster_pick(), freed by muster_call_end(). */
typedef struct muster_call muster_call;

/* How a picker chooses (docs/routing.md).
 * OWNERSHIP: borrowed for the call. VERSIONING: grows at the end. */
typedef struct muster_picker_options {
    uint32_t struct_size;
    uint32_t reserved; /* 0 */
    /* "round_robin" (NULL), "random", "least_outstanding", "weighted",
     * "maglev" */
    const char* policy;
    const char* zone;   /* this process's zone, or NULL */
    const char* region; /* this process's region, or NULL */
    /* Below this share of passing instances, picks spread over all that
     * are not drained; 0: the default, 0.5. */
    double panic_threshold;
} muster_picker_options;

/* A picker over `role`; options may be NULL (round robin). */
MUSTER_CLIENT_API muster_status muster_picker_open(muster_client* client, const char* role,
                                                   const muster_picker_options* options, muster_picker** out,
                                                   muster_error* err);
/* NULL is fine. */
MUSTER_CLIENT_API void muster_picker_close(muster_picker* picker);

/* Chooses an instance for one call. `key` (key_len bytes; NULL for none)
 * is what maglev keeps on one instance.
 * Errors: NOT_FOUND (no instance can be picked: none listed, or all
 * drained). */
MUSTER_CLIENT_API muster_status muster_pick(muster_picker* picker, const char* key, size_t key_len, muster_call** out,
                                            muster_error* err);

/* The picked instance. OWNERSHIP: valid until muster_call_end(). */
MUSTER_CLIENT_API const muster_instance* muster_call_instance(const muster_call* call);

/* How a call ended, for outlier ejection. */
typedef enum muster_call_outcome {
    MUSTER_CALL_NONE = 0, /* no outcome: the call only ends */
    MUSTER_CALL_SUCCESS = 1,
    MUSTER_CALL_FAILURE = 2
} muster_call_outcome;

/* Ends the call with its outcome and latency (latency_us < 0: not
 * measured) and frees it. NULL is fine. */
MUSTER_CLIENT_API void muster_call_end(muster_call* call, muster_call_outcome outcome, int64_t latency_us);

#ifdef __cplusplus
}
#endif

#include <muster/client_layout.h> /* the structs above, frozen */

#endif
