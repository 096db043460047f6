/* muster plugin ABI: version numbers.
 *
 * MAJOR changes break binary compatibility: a host refuses a plugin whose
 * major differs from its own (rule L2 in docs/abi.md). MINOR grows structs at
 * their end only; a host serves any minor of its major by checking each
 * struct's struct_size before touching a slot (rule L3). */
#ifndef MUSTER_VERSION_H
#define MUSTER_VERSION_H

#include <stddef.h>

#define MUSTER_ABI_MAJOR 1
#define MUSTER_ABI_MINOR 1

/* The struct_size a TYPE must have to hold FIELD: a struct at least this
 * long was built by a minor version that has FIELD (rule L3). */
#define MUSTER_SIZE_THROUGH(TYPE, FIELD) (offsetof(TYPE, FIELD) + sizeof(((TYPE*)0)->FIELD))

/* Kind strings a plugin may provide. The suffix is the kind's major. */
#define MUSTER_KIND_BACKEND "muster.backend/1"
#define MUSTER_KIND_HEALTH "muster.health/1"

/* The one symbol every plugin exports (see plugin.h). */
#define MUSTER_ENTRY_SYMBOL "muster_plugin_negotiate"

#endif
