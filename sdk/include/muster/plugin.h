/* muster plugin ABI: the one entry point of a plugin shared object.
 *
 * A plugin exports exactly one symbol, muster_plugin_negotiate (use
 * MUSTER_PLUGIN_EXPORT from export.h, build with hidden visibility). The
 * host loads the library with RTLD_NOW|RTLD_LOCAL by absolute path, calls
 * it once, and keeps the library loaded for the rest of the process. */
#ifndef MUSTER_PLUGIN_H
#define MUSTER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "status.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One kind the plugin provides.
 * OWNERSHIP: static storage in the plugin.
 * `vtable` points at the kind's struct (muster_backend_v1 for
 * MUSTER_KIND_BACKEND, muster_health_v1 for MUSTER_KIND_HEALTH), which starts
 * with struct_size. */
typedef struct muster_kind {
    const char* kind;
    const void* vtable;
} muster_kind;

/* What the plugin is.
 * OWNERSHIP: static storage in the plugin, valid for the process lifetime.
 * VERSIONING: grows at the end; the host checks struct_size. */
typedef struct muster_plugin_descriptor {
    uint32_t struct_size;
    uint32_t abi_major; /* MUSTER_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor; /* MUSTER_ABI_MINOR the plugin was built with */
    uint32_t reserved;
    const char* name;        /* [a-z][a-z0-9-]*, usually the file's stem */
    const char* version;     /* the plugin's own version, free text */
    const char* description; /* one line */
    const muster_kind* kinds;
    size_t kind_count;
} muster_plugin_descriptor;

/* What the host offers.
 * OWNERSHIP: owned by the host, borrowed for the call; `host` lives for the
 *   process and may be kept. */
typedef struct muster_negotiation {
    uint32_t struct_size;
    uint32_t host_abi_major;
    uint32_t host_abi_minor;
    uint32_t reserved;
    const muster_host_services* host;
} muster_negotiation;

/* The entry point [L1-L4]. Writes the plugin's descriptor to *out, even
 * when it refuses, so that the host can name both versions. Returns OK if
 * the plugin can serve the host's ABI major, UNSUPPORTED if not (the host
 * also checks descriptor->abi_major itself).
 * THREADING: called once per process, before anything else, by one thread. */
typedef muster_status (*muster_plugin_negotiate_fn)(const muster_negotiation* in, const muster_plugin_descriptor** out,
                                                    muster_error* err);

#ifdef __cplusplus
}
#endif
#endif
