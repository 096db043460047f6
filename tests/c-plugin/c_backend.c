/* c-backend: an in-process registry written in plain C11 against the frozen
 * ABI 1.0 headers (tests/abi-1.0), with no SDK: the proof that the ABI is C
 * and that a 1.0 plugin keeps loading and passing the conformance suite in
 * every later host. It validates its input itself (rules F1-F5), keeps
 * stopped instances until reaped, and claims REAP; no watch. */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <muster/backend.h>
#include <muster/export.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct row {
    char* id;
    char* role;
    char* address;
    muster_kv* meta;
    size_t meta_count;
    uint32_t health;
    int64_t registered_at, last_seen, stopped_at;
} row;

struct muster_backend {
    pthread_mutex_t mu; /* guards rows */
    row* rows;
    size_t count, capacity;
    int64_t ttl_ms;
    const muster_host_services* host;
};

static muster_status fail(muster_error* err, muster_status st, const char* what) {
    if (err) {
        err->code = st;
        snprintf(err->message, sizeof err->message, "%s", what);
    }
    return st;
}

/* The host's clock; a host that gave none (NULL services) gets the system's. */
static int64_t now_ms(const muster_backend* b) {
    if (b->host && b->host->now_ms) return b->host->now_ms(b->host->host_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- F1-F5: the field rules of docs/abi.md ---- */

static bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
static bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static bool valid_role(const char* r) {
    size_t n = strlen(r);
    if (n == 0 || n > MUSTER_ROLE_MAX || !(r[0] >= 'a' && r[0] <= 'z')) return false;
    for (size_t i = 0; i < n; ++i)
        if (!lower_alnum(r[i]) && r[i] != '_' && r[i] != '-') return false;
    return true;
}

static bool valid_id(const char* id) {
    if (strlen(id) != 36) return false;
    for (size_t i = 0; i < 36; ++i)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? id[i] != '-' : !hex(id[i])) return false;
    return true;
}

static bool valid_host(const char* h, size_t n) {
    if (n > 2 && h[0] == '[' && h[n - 1] == ']') { /* [IPv6] */
        bool colon = false;
        for (size_t i = 1; i + 1 < n; ++i) {
            char c = h[i];
            if (!(hex(c) || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) return false;
            colon = colon || c == ':';
        }
        return colon;
    }
    if (n == 0 || n > 253) return false;
    size_t label = 0;
    for (size_t i = 0; i <= n; ++i) {
        if (i == n || h[i] == '.') {
            if (label == 0 || label > 63 || h[i - label] == '-' || h[i - 1] == '-') return false;
            label = 0;
        } else if (alnum(h[i]) || h[i] == '-') {
            ++label;
        } else {
            return false;
        }
    }
    return true;
}

static bool valid_address(const char* a) {
    size_t n = strlen(a);
    const char* colon = strrchr(a, ':');
    if (n == 0 || n > MUSTER_ADDRESS_MAX || !colon || !valid_host(a, (size_t)(colon - a))) return false;
    const char* port = colon + 1;
    size_t digits = strlen(port);
    if (digits == 0 || digits > 5) return false;
    long p = 0;
    for (const char* c = port; *c; ++c) {
        if (*c < '0' || *c > '9') return false;
        p = p * 10 + (*c - '0');
    }
    return p >= 1 && p <= 65535;
}

static bool valid_utf8(const unsigned char* s) {
    while (*s) {
        unsigned char c = *s;
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            ++s;
            continue;
        }
        if ((c >> 5) == 0x6) {
            n = 1;
            cp = c & 0x1Fu;
        } else if ((c >> 4) == 0xE) {
            n = 2;
            cp = c & 0x0Fu;
        } else if ((c >> 3) == 0x1E) {
            n = 3;
            cp = c & 0x07u;
        } else
            return false;
        for (size_t k = 1; k <= n; ++k) {
            if ((s[k] >> 6) != 0x2) return false; /* also stops at the NUL */
            cp = (cp << 6) | (s[k] & 0x3Fu);
        }
        static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        s += n + 1;
    }
    return true;
}

static bool valid_meta_key(const char* k) {
    size_t n = strlen(k);
    if (n == 0 || n > MUSTER_META_KEY_MAX || !alnum(k[0])) return false;
    for (size_t i = 0; i < n; ++i)
        if (!alnum(k[i]) && k[i] != '.' && k[i] != '_' && k[i] != '/' && k[i] != '-') return false;
    return true;
}

/* NULL when valid, else what is wrong. */
static const char* check_instance(const muster_instance* in) {
    if (!in || in->struct_size < sizeof(muster_instance)) return "instance is NULL or too small for ABI 1.0";
    if (!in->id || !in->role || !in->address) return "instance id, role and address must not be NULL";
    if (!valid_id(in->id)) return "id is not a lowercase 8-4-4-4-12 UUID";
    if (!valid_role(in->role)) return "role must match [a-z][a-z0-9_-]{0,62}";
    if (!valid_address(in->address)) return "address must be host:port with a port 1-65535";
    if (in->health > MUSTER_HEALTH_CRITICAL) return "health must be passing, warning or critical";
    if (in->metadata_count > MUSTER_META_KEYS_MAX) return "more than 64 metadata entries";
    if (in->metadata_count > 0 && !in->metadata) return "metadata is NULL but metadata_count > 0";
    size_t total = 0;
    for (size_t i = 0; i < in->metadata_count; ++i) {
        const muster_kv* kv = &in->metadata[i];
        if (!kv->key || !kv->value) return "metadata key or value is NULL";
        if (!valid_meta_key(kv->key)) return "metadata key must match [A-Za-z0-9][A-Za-z0-9._/-]{0,127}";
        size_t vn = strlen(kv->value);
        if (vn > MUSTER_META_VALUE_MAX) return "metadata value is longer than 4096 bytes";
        if (!valid_utf8((const unsigned char*)kv->value)) return "metadata value is not valid UTF-8";
        total += strlen(kv->key) + vn;
        for (size_t j = 0; j < i; ++j)
            if (strcmp(in->metadata[j].key, kv->key) == 0) return "a metadata key appears twice";
    }
    if (total > MUSTER_META_TOTAL_MAX) return "metadata is larger than 16384 bytes in all";
    return NULL;
}

/* ---- the store: rows in an array, under one mutex ---- */

static void free_meta(row* r) {
    for (size_t i = 0; i < r->meta_count; ++i) {
        free((char*)r->meta[i].key);
        free((char*)r->meta[i].value);
    }
    free(r->meta);
    r->meta = NULL;
    r->meta_count = 0;
}

static void free_row(row* r) {
    free(r->id);
    free(r->role);
    free(r->address);
    free_meta(r);
}

static row* find(muster_backend* b, const char* id) {
    for (size_t i = 0; i < b->count; ++i)
        if (strcmp(b->rows[i].id, id) == 0) return &b->rows[i];
    return NULL;
}

static bool live(const muster_backend* b, const row* r, int64_t now) {
    return r->stopped_at == 0 && r->last_seen >= now - b->ttl_ms;
}

static muster_status c_create(const muster_backend_config* cfg, muster_backend** out, muster_error* err) {
    if (!cfg || cfg->struct_size < sizeof(muster_backend_config) || !out)
        return fail(err, MUSTER_INVALID_ARGUMENT, "bad config");
    if (cfg->option_count > 0) { /* [O2]: name what was refused */
        char what[MUSTER_ERROR_MESSAGE_MAX];
        snprintf(what, sizeof what, "unknown option '%s' (c-backend takes none)", cfg->options[0].name);
        return fail(err, MUSTER_INVALID_ARGUMENT, what);
    }
    muster_backend* b = calloc(1, sizeof *b);
    if (!b) return fail(err, MUSTER_INTERNAL, "out of memory");
    pthread_mutex_init(&b->mu, NULL);
    b->ttl_ms = cfg->ttl_ms;
    b->host = cfg->host;
    *out = b;
    return MUSTER_OK;
}

static void c_destroy(muster_backend* b) {
    for (size_t i = 0; i < b->count; ++i) free_row(&b->rows[i]);
    free(b->rows);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static muster_status c_register(muster_backend* b, const muster_instance* in, muster_error* err) {
    const char* problem = check_instance(in);
    if (problem) return fail(err, MUSTER_INVALID_ARGUMENT, problem);
    muster_kv* meta = in->metadata_count ? calloc(in->metadata_count, sizeof *meta) : NULL;
    for (size_t i = 0; i < in->metadata_count; ++i) {
        meta[i].key = strdup(in->metadata[i].key);
        meta[i].value = strdup(in->metadata[i].value);
    }
    pthread_mutex_lock(&b->mu);
    int64_t now = now_ms(b);
    row* r = find(b, in->id);
    if (r && strcmp(r->role, in->role) != 0) {
        pthread_mutex_unlock(&b->mu);
        row tmp = {.meta = meta, .meta_count = in->metadata_count};
        free_meta(&tmp);
        return fail(err, MUSTER_CONFLICT, "the id is registered under another role");
    }
    if (!r) {
        if (b->count == b->capacity) {
            size_t cap = b->capacity ? b->capacity * 2 : 16;
            row* grown = realloc(b->rows, cap * sizeof *grown);
            if (!grown) {
                pthread_mutex_unlock(&b->mu);
                return fail(err, MUSTER_INTERNAL, "out of memory");
            }
            b->rows = grown;
            b->capacity = cap;
        }
        r = &b->rows[b->count++];
        *r = (row){.id = strdup(in->id), .role = strdup(in->role), .registered_at = now};
    }
    free(r->address);
    free_meta(r);
    r->address = strdup(in->address);
    r->meta = meta;
    r->meta_count = in->metadata_count;
    r->health = in->health;
    r->last_seen = now;
    r->stopped_at = 0;
    pthread_mutex_unlock(&b->mu);
    return MUSTER_OK;
}

static muster_status c_heartbeat(muster_backend* b, const char* const* ids, size_t count, muster_status* results,
                                 muster_error* err) {
    if ((!ids || !results) && count) return fail(err, MUSTER_INVALID_ARGUMENT, "ids and results must not be NULL");
    for (size_t i = 0; i < count; ++i)
        if (!ids[i] || !valid_id(ids[i])) return fail(err, MUSTER_INVALID_ARGUMENT, "an id is not a lowercase UUID");
    pthread_mutex_lock(&b->mu);
    int64_t now = now_ms(b);
    for (size_t i = 0; i < count; ++i) {
        row* r = find(b, ids[i]);
        bool known = r && r->stopped_at == 0;
        if (known) r->last_seen = now;
        results[i] = known ? MUSTER_OK : MUSTER_NOT_FOUND;
    }
    pthread_mutex_unlock(&b->mu);
    return MUSTER_OK;
}

static muster_status c_deregister(muster_backend* b, const char* id, muster_error* err) {
    if (!id || !valid_id(id)) return fail(err, MUSTER_INVALID_ARGUMENT, "id is not a lowercase UUID");
    pthread_mutex_lock(&b->mu);
    row* r = find(b, id);
    if (r && r->stopped_at == 0) r->stopped_at = now_ms(b);
    pthread_mutex_unlock(&b->mu);
    return r ? MUSTER_OK : fail(err, MUSTER_NOT_FOUND, "no instance with that id");
}

/* A row copied out, so that the sink runs without the lock. */
static void copy_row(row* dst, const row* src) {
    *dst = *src;
    dst->id = strdup(src->id);
    dst->role = strdup(src->role);
    dst->address = strdup(src->address);
    dst->meta = src->meta_count ? calloc(src->meta_count, sizeof *dst->meta) : NULL;
    for (size_t i = 0; i < src->meta_count; ++i) {
        dst->meta[i].key = strdup(src->meta[i].key);
        dst->meta[i].value = strdup(src->meta[i].value);
    }
}

static muster_status c_list(muster_backend* b, const char* role, uint32_t flags, muster_instance_sink sink, void* user,
                            muster_error* err) {
    if (!sink) return fail(err, MUSTER_INVALID_ARGUMENT, "sink must not be NULL");
    if (flags & ~(MUSTER_LIST_INCLUDE_STOPPED | MUSTER_LIST_INCLUDE_STALE))
        return fail(err, MUSTER_INVALID_ARGUMENT, "unknown list flags");
    if (role && !valid_role(role)) return fail(err, MUSTER_INVALID_ARGUMENT, "role must match [a-z][a-z0-9_-]{0,62}");
    pthread_mutex_lock(&b->mu);
    int64_t now = now_ms(b);
    row* picked = b->count ? calloc(b->count, sizeof *picked) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < b->count; ++i) {
        const row* r = &b->rows[i];
        if (role && strcmp(r->role, role) != 0) continue;
        bool stopped = r->stopped_at != 0, stale = !stopped && !live(b, r, now);
        if ((stopped && !(flags & MUSTER_LIST_INCLUDE_STOPPED)) || (stale && !(flags & MUSTER_LIST_INCLUDE_STALE)))
            continue;
        copy_row(&picked[n++], r);
    }
    pthread_mutex_unlock(&b->mu);
    bool more = true;
    for (size_t i = 0; i < n; ++i) {
        const row* r = &picked[i];
        muster_instance out = {sizeof out,    r->health,        r->id,        r->role,      r->address, r->meta,
                               r->meta_count, r->registered_at, r->last_seen, r->stopped_at};
        if (more && sink(user, &out) != 0) more = false;
        free_row(&picked[i]);
    }
    free(picked);
    return MUSTER_OK;
}

static muster_status c_reap(muster_backend* b, int64_t retain_ms, uint64_t* removed, muster_error* err) {
    if (retain_ms < 0) return fail(err, MUSTER_INVALID_ARGUMENT, "retain_ms must not be negative");
    pthread_mutex_lock(&b->mu);
    int64_t now = now_ms(b);
    size_t kept = 0;
    uint64_t gone = 0;
    for (size_t i = 0; i < b->count; ++i) {
        row* r = &b->rows[i];
        bool old = r->stopped_at != 0 ? now - r->stopped_at > retain_ms : now - r->last_seen > b->ttl_ms + retain_ms;
        if (old) {
            free_row(r);
            ++gone;
        } else {
            b->rows[kept++] = *r;
        }
    }
    b->count = kept;
    pthread_mutex_unlock(&b->mu);
    if (removed) *removed = gone;
    return MUSTER_OK;
}

static muster_status c_watch(muster_backend* b, const char* role, muster_watch_fn cb, void* user, muster_watch** out,
                             muster_error* err) {
    (void)b, (void)role, (void)cb, (void)user, (void)out;
    return fail(err, MUSTER_UNSUPPORTED, "c-backend does not watch");
}

static void c_unwatch(muster_backend* b, muster_watch* w) { (void)b, (void)w; }

static const muster_backend_v1 vtable = {
    sizeof(muster_backend_v1),
    MUSTER_ABI_MINOR,
    MUSTER_BACKEND_CAP_REAP,
    "c-backend",
    "an in-process registry in plain C against ABI 1.0",
    NULL,
    0,
    c_create,
    c_destroy,
    c_register,
    c_heartbeat,
    c_deregister,
    c_list,
    c_reap,
    c_watch,
    c_unwatch,
};

static const muster_kind kinds[] = {{MUSTER_KIND_BACKEND, &vtable}};

static const muster_plugin_descriptor descriptor = {
    sizeof(muster_plugin_descriptor),
    MUSTER_ABI_MAJOR,
    MUSTER_ABI_MINOR,
    0,
    "c-backend",
    "1.0.0",
    "an in-process registry in plain C (ABI 1.0, no SDK)",
    kinds,
    1,
};

muster_status muster_plugin_negotiate(const muster_negotiation* in, const muster_plugin_descriptor** out,
                                      muster_error* err) {
    if (out) *out = &descriptor;
    if (!in || in->host_abi_major != MUSTER_ABI_MAJOR)
        return fail(err, MUSTER_UNSUPPORTED, "c-backend is built for ABI 1.x");
    return MUSTER_OK;
}
