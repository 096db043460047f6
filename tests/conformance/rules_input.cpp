// Rules V: bad input is refused with INVALID_ARGUMENT and changes nothing.
// Calls go straight to the vtable, as a careless host's would.
#include "suite.hpp"

namespace conformance {
namespace {

struct RawBackend {
    const muster_backend_v1& vt;
    muster_backend* b = nullptr;
    RawBackend(Context& c) : vt(c.vt()) {
        std::vector<muster_option> raw;
        for (auto& [k, v] : c.options) raw.push_back({k.c_str(), v.c_str()});
        muster_backend_config cfg{sizeof cfg, 0, nullptr, raw.data(), raw.size(), c.ttl_ms};
        muster_error err{};
        check(vt.create(&cfg, &b, &err) == MUSTER_OK, std::string("create failed: ") + err.message);
    }
    ~RawBackend() { vt.destroy(b); }
};

struct Case {
    std::string what;
    muster_instance inst;
};

AddRule v1{{"V1", "register refuses malformed ids, roles, addresses, metadata and health; the store is unchanged", 0,
            true, [](Context& c) {
                RawBackend rb(c);
                std::string role = c.fresh_role("bad");
                std::string id = muster::core::new_instance_id();
                muster_kv good_kv[] = {{"zone", "a"}};
                muster_instance base{sizeof(muster_instance),
                                     MUSTER_HEALTH_PASSING,
                                     id.c_str(),
                                     role.c_str(),
                                     "127.0.0.1:7001",
                                     good_kv,
                                     1,
                                     0,
                                     0,
                                     0};
                std::string long_role(64, 'a'), long_value(4097, 'v');
                muster_kv bad_key[] = {{"bad key!", "v"}};
                muster_kv bad_utf8[] = {{"k", "\xc3\x28"}};
                muster_kv too_long[] = {{"k", long_value.c_str()}};
                muster_kv null_value[] = {{"k", nullptr}};
                muster_kv dup[] = {{"k", "1"}, {"k", "2"}};
                std::vector<Case> cases;
                auto with = [&](std::string what, auto change) {
                    muster_instance i = base;
                    change(i);
                    cases.push_back({std::move(what), i});
                };
                with("id 'not-a-uuid'", [](muster_instance& i) { i.id = "not-a-uuid"; });
                with("an uppercase id", [](muster_instance& i) { i.id = "3F2B8C1E-0D4A-4C55-9E1A-6B7F0C2D9E11"; });
                with("a NULL id", [](muster_instance& i) { i.id = nullptr; });
                with("an empty role", [](muster_instance& i) { i.role = ""; });
                with("role 'Bad Role'", [](muster_instance& i) { i.role = "Bad Role"; });
                with("role with a dot", [](muster_instance& i) { i.role = "a.b"; });
                with("a 64-character role", [&](muster_instance& i) { i.role = long_role.c_str(); });
                with("address without port", [](muster_instance& i) { i.address = "10.0.0.1"; });
                with("port 0", [](muster_instance& i) { i.address = "10.0.0.1:0"; });
                with("port 70000", [](muster_instance& i) { i.address = "10.0.0.1:70000"; });
                with("host with a space", [](muster_instance& i) { i.address = "a b:80"; });
                with("a NULL address", [](muster_instance& i) { i.address = nullptr; });
                with("metadata key 'bad key!'", [&](muster_instance& i) { i.metadata = bad_key; });
                with("metadata value of invalid UTF-8", [&](muster_instance& i) { i.metadata = bad_utf8; });
                with("a 4097-byte metadata value", [&](muster_instance& i) { i.metadata = too_long; });
                with("a NULL metadata value", [&](muster_instance& i) { i.metadata = null_value; });
                with("a duplicate metadata key", [&](muster_instance& i) {
                    i.metadata = dup;
                    i.metadata_count = 2;
                });
                with("metadata NULL with a count", [](muster_instance& i) { i.metadata = nullptr; });
                with("health 7", [](muster_instance& i) { i.health = 7; });
                with("struct_size 8", [](muster_instance& i) { i.struct_size = 8; });
                for (auto& k : cases) {
                    muster_error err{};
                    muster_status st = rb.vt.register_instance(rb.b, &k.inst, &err);
                    check(st == MUSTER_INVALID_ARGUMENT,
                          "register with " + k.what + " answered " + muster_status_name(st));
                    check(err.message[0] != '\0', "register with " + k.what + " gave no message");
                }
                muster_error err{};
                check(rb.vt.register_instance(rb.b, nullptr, &err) == MUSTER_INVALID_ARGUMENT,
                      "register(NULL) was not refused");
                auto b = c.backend();
                auto all = list(*b, nullptr, MUSTER_LIST_INCLUDE_STOPPED | MUSTER_LIST_INCLUDE_STALE);
                for (const auto& i : all) check(i.id != id && i.role != role, "a refused register left a row behind");
            }}};

AddRule v2{
    {"V2", "heartbeat, deregister, list and watch refuse malformed ids, roles and flags", 0, true, [](Context& c) {
         RawBackend rb(c);
         muster_error err{};
         const char* bad_ids[] = {"nope"};
         muster_status res[1];
         check(rb.vt.heartbeat(rb.b, bad_ids, 1, res, &err) == MUSTER_INVALID_ARGUMENT,
               "heartbeat of id 'nope' was not refused");
         check(rb.vt.deregister(rb.b, "nope", &err) == MUSTER_INVALID_ARGUMENT,
               "deregister of id 'nope' was not refused");
         check(rb.vt.deregister(rb.b, nullptr, &err) == MUSTER_INVALID_ARGUMENT, "deregister(NULL) was not refused");
         auto sink = [](void*, const muster_instance*) { return 0; };
         check(rb.vt.list(rb.b, "Bad Role", 0, sink, nullptr, &err) == MUSTER_INVALID_ARGUMENT,
               "list of role 'Bad Role' was not refused");
         check(rb.vt.list(rb.b, nullptr, 0x80, sink, nullptr, &err) == MUSTER_INVALID_ARGUMENT,
               "list with unknown flags was not refused");
         check(rb.vt.list(rb.b, nullptr, 0, nullptr, nullptr, &err) == MUSTER_INVALID_ARGUMENT,
               "list without a sink was not refused");
         if (rb.vt.capabilities & MUSTER_BACKEND_CAP_WATCH) {
             muster_watch* w = nullptr;
             auto cb = [](void*, const muster_watch_event*) {};
             check(rb.vt.watch(rb.b, "Bad Role", cb, nullptr, &w, &err) == MUSTER_INVALID_ARGUMENT,
                   "watch of role 'Bad Role' was not refused");
         }
     }}};

}  // namespace
}  // namespace conformance
