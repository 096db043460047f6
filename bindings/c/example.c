/* The seed's ServiceBootstrap in C against an installed muster:
 *   cc example.c $(pkg-config --cflags --libs muster) -o example
 *   ./example /tmp/muster.db
 * Registers a querier, resolves the routers, waits for a router's ADDED
 * event from its watch, picks one, and deregisters. Exits 0 when all of it
 * worked, 1 with one line on stderr otherwise. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <muster/client.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int fail(const char* what, const muster_error* err) {
    fprintf(stderr, "example: %s: %s\n", what, err->message);
    return 1;
}

static atomic_int routers_added = 0; /* the watch calls back on a library thread */

static void on_event(void* user, uint32_t type, const muster_instance* inst, const char* backend) {
    (void)user;
    (void)backend;
    if (type == MUSTER_EVENT_ADDED && strcmp(inst->role, "router") == 0) routers_added++;
}

int main(int argc, char** argv) {
    char path[512];
    snprintf(path, sizeof path, "catalog-sqlite.path=%s", argc > 1 ? argv[1] : "muster.db");
    muster_kv settings[] = {{"backend-option", path}, {"heartbeat-interval", "1s"}, {"log-level", "warn"}};
    muster_client_config config = {sizeof config, 0, NULL, NULL, settings, 3};
    muster_error err;
    muster_client* client = NULL;
    if (muster_client_open(&config, &client, &err) != MUSTER_OK) return fail("open", &err);

    muster_subscription* sub = NULL;
    if (muster_subscribe(client, "router", on_event, NULL, &sub, &err) != MUSTER_OK) return fail("subscribe", &err);

    muster_kv meta[] = {{"zone", "a"}};
    muster_service router = {sizeof router, 0, "router", "127.0.0.1:7000", NULL, meta, 1, NULL, 0, NULL, 0};
    muster_service querier = {sizeof querier, 0, "querier", "127.0.0.1:7001", NULL, NULL, 0, NULL, 0, NULL, 0};
    muster_registration *r = NULL, *q = NULL;
    if (muster_register(client, &router, &r, &err) != MUSTER_OK) return fail("register router", &err);
    if (muster_register(client, &querier, &q, &err) != MUSTER_OK) return fail("register querier", &err);
    printf("registered querier %s\n", muster_registration_id(q));

    muster_snapshot* routers = NULL;
    if (muster_resolve(client, "router", &routers, &err) != MUSTER_OK) return fail("resolve", &err);
    printf("%zu router(s) from %s%s\n", routers->count, routers->backend, routers->stale ? " (stale)" : "");
    int listed = routers->count == 1 && strcmp(routers->instances[0].address, "127.0.0.1:7000") == 0;
    muster_snapshot_free(routers);
    if (!listed) return fail("resolve", &(muster_error){0, "the router is not listed"});

    for (int i = 0; i < 500 && routers_added == 0; ++i) nanosleep(&(struct timespec){0, 10000000}, NULL);
    if (routers_added == 0) return fail("subscribe", &(muster_error){0, "no ADDED event for the router"});

    muster_picker* picker = NULL;
    muster_call* call = NULL;
    if (muster_picker_open(client, "router", NULL, &picker, &err) != MUSTER_OK) return fail("picker", &err);
    if (muster_pick(picker, NULL, 0, &call, &err) != MUSTER_OK) return fail("pick", &err);
    printf("picked %s\n", muster_call_instance(call)->address);
    muster_call_end(call, MUSTER_CALL_SUCCESS, 120);
    muster_picker_close(picker);

    muster_unsubscribe(sub);
    if (muster_deregister(q, &err) != MUSTER_OK) return fail("deregister", &err);
    if (muster_deregister(r, &err) != MUSTER_OK) return fail("deregister", &err);
    muster_client_close(client);
    return 0;
}
