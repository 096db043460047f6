/* muster plugin ABI: frozen layouts.
 *
 * Shipped structs only grow at the end. These assertions fail the build of
 * the host, the SDK and every plugin if a field moves (LP64 targets). */
#ifndef MUSTER_LAYOUT_H
#define MUSTER_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "health.h"
#include "plugin.h"

#ifdef __cplusplus
#define MUSTER_FROZEN(expr) static_assert(expr, #expr)
#else
#define MUSTER_FROZEN(expr) _Static_assert(expr, #expr)
#endif

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
MUSTER_FROZEN(sizeof(muster_error) == 516);
MUSTER_FROZEN(offsetof(muster_host_services, log) == 16);
MUSTER_FROZEN(offsetof(muster_host_services, now_ms) == 24);
MUSTER_FROZEN(sizeof(muster_host_services) == 32);
MUSTER_FROZEN(sizeof(muster_option_spec) == 40);
MUSTER_FROZEN(offsetof(muster_option_spec, help) == 32);
MUSTER_FROZEN(sizeof(muster_option) == 16);
MUSTER_FROZEN(sizeof(muster_kv) == 16);
MUSTER_FROZEN(offsetof(muster_instance, id) == 8);
MUSTER_FROZEN(offsetof(muster_instance, metadata_count) == 40);
MUSTER_FROZEN(offsetof(muster_instance, stopped_at_ms) == 64);
MUSTER_FROZEN(sizeof(muster_instance) == 72);
MUSTER_FROZEN(sizeof(muster_backend_config) == 40);
MUSTER_FROZEN(sizeof(muster_watch_event) == 32);
MUSTER_FROZEN(offsetof(muster_backend_v1, create) == 48);
MUSTER_FROZEN(offsetof(muster_backend_v1, unwatch) == 112);
MUSTER_FROZEN(offsetof(muster_backend_v1, holds_role) == 120);
MUSTER_FROZEN(sizeof(muster_backend_v1) == 128);
MUSTER_FROZEN(sizeof(muster_health_config) == 32);
MUSTER_FROZEN(offsetof(muster_health_v1, check) == 64);
MUSTER_FROZEN(sizeof(muster_health_v1) == 72);
MUSTER_FROZEN(sizeof(muster_kind) == 16);
MUSTER_FROZEN(sizeof(muster_plugin_descriptor) == 56);
MUSTER_FROZEN(sizeof(muster_negotiation) == 24);
#endif

#endif
