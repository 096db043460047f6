/* muster client API: frozen layouts (LP64).
 *
 * The structs of client.h that callers fill or read only grow at the end.
 * These assertions fail the build of libmuster and of every program that
 * includes client.h if a field moves. The Python and Rust bindings' tests
 * read this file and check their mirrors against every line. The SDK's
 * structs the client API shares (muster_kv, muster_instance, muster_error)
 * are frozen in layout.h. */
#ifndef MUSTER_CLIENT_LAYOUT_H
#define MUSTER_CLIENT_LAYOUT_H

#include <muster/client.h>
#include <muster/layout.h>

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
MUSTER_FROZEN(sizeof(muster_client_config) == 40);
MUSTER_FROZEN(offsetof(muster_client_config, config_path) == 8);
MUSTER_FROZEN(offsetof(muster_client_config, config_text) == 16);
MUSTER_FROZEN(offsetof(muster_client_config, settings) == 24);
MUSTER_FROZEN(offsetof(muster_client_config, settings_count) == 32);
MUSTER_FROZEN(sizeof(muster_service) == 80);
MUSTER_FROZEN(offsetof(muster_service, role) == 8);
MUSTER_FROZEN(offsetof(muster_service, address) == 16);
MUSTER_FROZEN(offsetof(muster_service, id) == 24);
MUSTER_FROZEN(offsetof(muster_service, metadata) == 32);
MUSTER_FROZEN(offsetof(muster_service, metadata_count) == 40);
MUSTER_FROZEN(offsetof(muster_service, checks) == 48);
MUSTER_FROZEN(offsetof(muster_service, checks_count) == 56);
MUSTER_FROZEN(offsetof(muster_service, depends_on) == 64);
MUSTER_FROZEN(offsetof(muster_service, depends_on_count) == 72);
MUSTER_FROZEN(sizeof(muster_snapshot) == 56);
MUSTER_FROZEN(offsetof(muster_snapshot, role) == 8);
MUSTER_FROZEN(offsetof(muster_snapshot, backend) == 32);
MUSTER_FROZEN(offsetof(muster_snapshot, instances) == 16);
MUSTER_FROZEN(offsetof(muster_snapshot, count) == 24);
MUSTER_FROZEN(offsetof(muster_snapshot, as_of_ms) == 40);
MUSTER_FROZEN(offsetof(muster_snapshot, stale) == 4);
MUSTER_FROZEN(offsetof(muster_snapshot, held) == 48);
MUSTER_FROZEN(sizeof(muster_picker_options) == 40);
MUSTER_FROZEN(offsetof(muster_picker_options, policy) == 8);
MUSTER_FROZEN(offsetof(muster_picker_options, zone) == 16);
MUSTER_FROZEN(offsetof(muster_picker_options, region) == 24);
MUSTER_FROZEN(offsetof(muster_picker_options, panic_threshold) == 32);
#endif

#endif
