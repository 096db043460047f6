/* muster plugin ABI: the option schema a plugin declares, and the values the
 * host passes at create time. */
#ifndef MUSTER_OPTIONS_H
#define MUSTER_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum muster_option_type {
    MUSTER_OPT_STRING = 0,
    MUSTER_OPT_INT = 1,     /* decimal, optional sign, fits int64 */
    MUSTER_OPT_BOOL = 2,    /* true|false */
    MUSTER_OPT_DURATION = 3 /* 500ms, 30s, 2m, 1h; passed to the plugin as
                               a whole number of milliseconds */
} muster_option_type;

/* Option flags. */
#define MUSTER_OPT_SECRET 0x1u   /* never logged, shown or echoed in errors */
#define MUSTER_OPT_REQUIRED 0x2u /* the host refuses a config without it */

/* One option the plugin accepts.
 * OWNERSHIP: owned by the plugin; static storage, valid while the library is
 *   loaded (for the process lifetime).
 * THREADING: immutable. */
typedef struct muster_option_spec {
    uint32_t struct_size;
    uint32_t type;             /* muster_option_type */
    uint32_t flags;            /* MUSTER_OPT_* */
    uint32_t reserved;         /* zero */
    const char* name;          /* [a-z][a-z0-9_]*, unique within the kind */
    const char* default_value; /* in the option's text form; NULL = none */
    const char* help;          /* one line for `muster-host plugins` */
} muster_option_spec;

/* One configured value, already checked by the host against the schema:
 * known name, right type, durations normalised to milliseconds.
 * OWNERSHIP: owned by the host, borrowed for the duration of create(); copy
 *   what you keep.
 * THREADING: immutable during the call. */
typedef struct muster_option {
    const char* name;
    const char* value;
} muster_option;

#ifdef __cplusplus
}
#endif
#endif
