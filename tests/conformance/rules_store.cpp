// Rules B: what a store does with registrations.
#include "suite.hpp"

#include <algorithm>

namespace conformance {
namespace {

using muster::sdk::Instance;

const Instance* find(const std::vector<Instance>& all, const std::string& id) {
    for (const auto& i : all)
        if (i.id == id) return &i;
    return nullptr;
}

AddRule b1{{"B1", "register then list returns the instance with every field, timestamps set by the store", 0, true,
            [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("rt");
                Instance in = c.instance(role, 7101);
                in.health = MUSTER_HEALTH_WARNING;
                in.metadata = {{"zone", "eu-1"}, {"version", "1.2.3"}};
                must(b->register_instance(in), "register");
                auto all = list(*b, &role);
                check(all.size() == 1, "expected 1 instance in the role, got " + std::to_string(all.size()));
                const Instance& got = all[0];
                check(got.id == in.id && got.role == role && got.address == in.address, "id, role or address differ");
                check(got.metadata == in.metadata, "metadata differs");
                check(got.health == MUSTER_HEALTH_WARNING, "health differs");
                check(got.registered_at_ms > 0 && got.last_seen_ms > 0, "registered_at/last_seen not set");
                check(got.stopped_at_ms == 0, "stopped_at set on a live instance");
            }}};

AddRule b2{{"B2", "registering an id again replaces it in place: one instance, new values, registered_at kept", 0, true,
            [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("idem");
                Instance in = c.instance(role, 7102);
                must(b->register_instance(in), "register");
                auto first = list(*b, &role);
                check(first.size() == 1, "expected 1 instance after the first register");
                sleep_ms(20);
                in.address = "127.0.0.2:7103";
                in.metadata["zone"] = "b";
                must(b->register_instance(in), "register again");
                auto all = list(*b, &role);
                check(all.size() == 1,
                      "expected 1 instance after registering twice, got " + std::to_string(all.size()));
                check(all[0].address == "127.0.0.2:7103" && all[0].metadata.at("zone") == "b",
                      "the second register did not replace the values");
                check(all[0].registered_at_ms == first[0].registered_at_ms, "registered_at changed on re-register");
            }}};

AddRule b3{
    {"B3", "a heartbeat extends life: last_seen advances and the instance outlives the ttl", 0, true, [](Context& c) {
         auto b = c.backend();
         std::string role = c.fresh_role("hb");
         Instance in = c.instance(role, 7104);
         must(b->register_instance(in), "register");
         std::int64_t first_seen = list(*b, &role).at(0).last_seen_ms;
         std::vector<muster_status> res;
         for (int i = 0; i < 4; ++i) {
             sleep_ms(c.ttl_ms * 2 / 5);
             must(b->heartbeat({in.id}, res), "heartbeat");
             check(res.at(0) == MUSTER_OK,
                   std::string("heartbeat of a live id answered ") + muster_status_name(res[0]));
         }
         auto all = list(*b, &role);
         check(all.size() == 1, "the instance expired although it heartbeat every 0.4 ttl");
         check(all[0].last_seen_ms > first_seen, "last_seen did not advance");
     }}};

AddRule b4{{"B4",
            "an instance without heartbeats disappears after the ttl (and is listed with INCLUDE_STALE where kept)", 0,
            true, [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("stale");
                Instance in = c.instance(role, 7105);
                must(b->register_instance(in), "register");
                check(listed(*b, role, in.id), "not listed right after register");
                check(eventually(c.ttl_ms + c.patience_ms(), [&] { return !listed(*b, role, in.id); }),
                      "still listed long after the ttl");
                // A store that keeps rows until reaped lists them on request; one that
                // expires them itself (nats-kv: the bucket's max age) has nothing left.
                if (c.vt().capabilities & MUSTER_BACKEND_CAP_REAP)
                    check(listed(*b, role, in.id, MUSTER_LIST_INCLUDE_STALE), "not listed with INCLUDE_STALE");
            }}};

AddRule b5{{"B5",
            "deregister hides the instance at once (INCLUDE_STOPPED shows it where kept) and it cannot heartbeat back",
            0, true, [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("dereg");
                Instance in = c.instance(role, 7106);
                must(b->register_instance(in), "register");
                must(b->deregister(in.id), "deregister");
                check(!listed(*b, role, in.id), "listed after deregister");
                if (c.vt().capabilities & MUSTER_BACKEND_CAP_REAP) {
                    auto stopped = list(*b, &role, MUSTER_LIST_INCLUDE_STOPPED);
                    check(stopped.size() == 1 && stopped[0].stopped_at_ms > 0,
                          "not listed with INCLUDE_STOPPED, or stopped_at not set");
                }
                std::vector<muster_status> res;
                must(b->heartbeat({in.id}, res), "heartbeat");
                check(res.at(0) == MUSTER_NOT_FOUND, "a heartbeat of a stopped instance did not answer NOT_FOUND");
                check(!listed(*b, role, in.id), "a heartbeat revived a stopped instance");
                must(b->deregister(in.id), "a second deregister");
                auto unknown = b->deregister(muster::core::new_instance_id());
                check(unknown.status == MUSTER_NOT_FOUND,
                      std::string("deregister of an unknown id answered ") + muster_status_name(unknown.status));
            }}};

AddRule b6{
    {"B6",
     "roles are isolated, also roles that are prefixes or look-alikes of each other; a list of every role holds all", 0,
     true, [](Context& c) {
         auto b = c.backend();
         // Another role, one the first is a prefix of ("web", "web-admin"), and
         // one equal but for '-' vs '_' (a LIKE pattern's '_' matches '-').
         std::string ra = c.fresh_role("iso"), rb = c.fresh_role("iso"), prefixed = ra + "-admin", alike = ra;
         std::replace(alike.begin(), alike.end(), '-', '_');
         std::vector<std::string> roles{ra, rb, prefixed, alike};
         std::vector<Instance> ins;
         for (std::size_t k = 0; k < roles.size(); ++k) {
             ins.push_back(c.instance(roles[k], static_cast<int>(7107 + k)));
             must(b->register_instance(ins.back()), "register in role " + roles[k]);
         }
         for (std::size_t k = 0; k < roles.size(); ++k) {
             auto got = list(*b, &roles[k]);
             check(got.size() == 1 && got[0].id == ins[k].id,
                   "role " + roles[k] + " lists " + std::to_string(got.size()) + " instances (want its own 1)");
         }
         auto all = list(*b, nullptr);
         for (const auto& i : ins) check(find(all, i.id), "a list of every role misses the one in " + i.role);
     }}};

AddRule b7{{"B7", "metadata survives byte for byte: unicode, quotes, SQL, JSON, backslashes, a 4096-byte value", 0,
            true, [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("meta");
                Instance in = c.instance(role, 7109);
                in.metadata = {
                    {"unicode", "z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80"},
                    {"quotes", "it's \"quoted\" `back`"},
                    {"sql", "'); DROP TABLE instances; --"},
                    {"json", "{\"a\":[1,2,{\"b\":null}]}"},
                    {"escapes", "back\\slash\\n tab\t newline\n"},
                    {"empty", ""},
                    {"big", std::string(4096, 'x')},
                    {"a.b/c-d_e", "key chars"},
                };
                must(b->register_instance(in), "register");
                auto all = list(*b, &role);
                check(all.size() == 1, "not listed");
                for (const auto& [k, v] : in.metadata) {
                    auto it = all[0].metadata.find(k);
                    check(it != all[0].metadata.end(), "metadata key '" + k + "' is lost");
                    check(it->second == v, "metadata value of '" + k + "' changed");
                }
                check(all[0].metadata.size() == in.metadata.size(), "metadata gained keys");
            }}};

AddRule b8{{"B8", "batch heartbeat: 100 ids in one call, per-id results (OK for known, NOT_FOUND for unknown)", 0, true,
            [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("batch");
                std::vector<std::string> ids;
                for (int i = 0; i < 100; ++i) {
                    Instance in = c.instance(role, 8000 + i);
                    must(b->register_instance(in), "register");
                    ids.push_back(in.id);
                }
                ids.push_back(muster::core::new_instance_id());
                std::vector<muster_status> res;
                must(b->heartbeat(ids, res), "batch heartbeat");
                for (int i = 0; i < 100; ++i)
                    check(res[i] == MUSTER_OK, "id " + std::to_string(i) + " of the batch did not answer OK");
                check(res[100] == MUSTER_NOT_FOUND, "the unknown id of the batch did not answer NOT_FOUND");
                check(list(*b, &role).size() == 100, "the role does not list 100 instances");
            }}};

AddRule b9{{"B9", "reap deletes stopped and stale registrations and keeps live ones", MUSTER_BACKEND_CAP_REAP, true,
            [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("reap");
                Instance live = c.instance(role, 7110), gone = c.instance(role, 7111);
                must(b->register_instance(live), "register");
                must(b->register_instance(gone), "register");
                must(b->deregister(gone.id), "deregister");
                sleep_ms(5);
                std::uint64_t n = 0;
                must(b->reap(0, n), "reap");
                // Each failure says what was seen.
                check(listed(*b, role, live.id), "reap removed a live instance (registered a moment before)");
                auto left = list(*b, &role, MUSTER_LIST_INCLUDE_STOPPED | MUSTER_LIST_INCLUDE_STALE);
                check(!find(left, gone.id), "the stopped instance survived reap(0)");
                check(n >= 1, "reap removed the stopped instance but reported " + std::to_string(n) + " removed");
            }}};

AddRule b10{{"B10", "an id registered under one role is refused under another with CONFLICT, unchanged", 0, true,
             [](Context& c) {
                 auto b = c.backend();
                 std::string ra = c.fresh_role("conf"), rb = c.fresh_role("conf");
                 Instance in = c.instance(ra, 7112);
                 must(b->register_instance(in), "register");
                 Instance other = in;
                 other.role = rb;
                 auto o = b->register_instance(other);
                 check(o.status == MUSTER_CONFLICT,
                       std::string("re-register under another role answered ") + muster_status_name(o.status));
                 check(listed(*b, ra, in.id) && list(*b, &rb).empty(), "the refused register changed the store");
             }}};

}  // namespace
}  // namespace conformance
