/* muster plugin ABI: how a plugin exports its entry point. */
#ifndef MUSTER_EXPORT_H
#define MUSTER_EXPORT_H

#include "plugin.h"

#ifdef __cplusplus
#define MUSTER_EXTERN_C extern "C"
#else
#define MUSTER_EXTERN_C
#endif

/* Declares the entry point with default visibility; build everything else
 * with -fvisibility=hidden (muster_add_plugin() in the CMake package does). */
#define MUSTER_PLUGIN_EXPORT MUSTER_EXTERN_C __attribute__((visibility("default")))

MUSTER_PLUGIN_EXPORT muster_status muster_plugin_negotiate(const muster_negotiation* in,
                                                           const muster_plugin_descriptor** out, muster_error* err);

#endif
