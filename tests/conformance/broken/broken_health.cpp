// A deliberately broken health check for testing the conformance suite's H
// rules: it judges every instance critical at once ("nothing there"), and
// breaks exactly one rule, chosen by the BREAK_* macro it is compiled with.
// Written against the raw C ABI, so that it can break what the SDK would
// not let it.
#include <muster/export.h>
#include <muster/muster.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace {

struct Check {
    std::string token;
    std::atomic<int> inside{0};
};

const muster_option_spec options[] = {
    {sizeof(muster_option_spec), MUSTER_OPT_STRING, MUSTER_OPT_SECRET, 0, "token", nullptr, "a secret"},
};

muster_status create(const muster_health_config* cfg, muster_health_check** out, [[maybe_unused]] muster_error* err) {
    auto* c = new Check;
    for (std::size_t i = 0; i < cfg->option_count; ++i) {
        if (std::strcmp(cfg->options[i].name, "token") == 0) {
            c->token = cfg->options[i].value;
            continue;
        }
#if !defined(BREAK_HEALTH_OPTIONS)
        std::snprintf(err->message, sizeof err->message, "unknown option '%s'", cfg->options[i].name);
        delete c;
        return MUSTER_INVALID_ARGUMENT;
#endif
    }
    *out = reinterpret_cast<muster_health_check*>(c);
    return MUSTER_OK;
}

void destroy(muster_health_check* c) { delete reinterpret_cast<Check*>(c); }

muster_status check(muster_health_check* h, const muster_instance* in, int64_t timeout_ms, muster_health* health,
                    muster_error* err) {
    auto* c = reinterpret_cast<Check*>(h);
    if (!in || !health || timeout_ms <= 0 || !in->id || std::strlen(in->id) != 36) {
        std::snprintf(err->message, sizeof err->message, "bad input");
        return MUSTER_INVALID_ARGUMENT;
    }
    int before = c->inside.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    *health = MUSTER_HEALTH_CRITICAL;
    std::snprintf(err->message, sizeof err->message, "nothing there");
#if defined(BREAK_HEALTH_SLOW)
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms + 400));  // ignores its timeout
#elif defined(BREAK_HEALTH_HANG)
    std::this_thread::sleep_for(std::chrono::seconds(3));  // hangs, whatever the timeout
#elif defined(BREAK_HEALTH_VERDICT)
    const std::uint32_t seven = 7;  // no muster_health: written as bytes, as a C plugin could
    std::memcpy(health, &seven, sizeof seven);
#elif defined(BREAK_HEALTH_RACE)
    if (before > 0) {  // not safe to call from two threads at once
        c->inside.fetch_sub(1);
        err->message[0] = '\0';
        return MUSTER_INTERNAL;
    }
#elif defined(BREAK_HEALTH_LEAK)
    std::snprintf(err->message, sizeof err->message, "nothing there (token %s)", c->token.c_str());
#endif
    (void)before;
    c->inside.fetch_sub(1);
    return MUSTER_OK;
}

muster_health_v1 vtable{sizeof(muster_health_v1),
                        MUSTER_ABI_MINOR,
                        0,
                        BROKEN_NAME,
                        "a deliberately broken check",
                        options,
                        1,
                        create,
                        destroy,
                        check};
muster_kind kind{MUSTER_KIND_HEALTH, &vtable};
muster_plugin_descriptor descriptor{sizeof(muster_plugin_descriptor),
                                    MUSTER_ABI_MAJOR,
                                    MUSTER_ABI_MINOR,
                                    0,
                                    BROKEN_NAME,
                                    "0.0.0",
                                    "a deliberately broken check",
                                    &kind,
                                    1};

}  // namespace

MUSTER_PLUGIN_EXPORT muster_status muster_plugin_negotiate(const muster_negotiation* in,
                                                           const muster_plugin_descriptor** out, muster_error*) {
    *out = &descriptor;
    return in->host_abi_major == MUSTER_ABI_MAJOR ? MUSTER_OK : MUSTER_UNSUPPORTED;
}
