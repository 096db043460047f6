// Rules R: read-only backends (MUSTER_BACKEND_CAP_READ_ONLY), which read a
// store others write (DNS). They run on a role the store already serves
// (--read-only-role ROLE=COUNT) instead of writing one.
#include "suite.hpp"

#include <muster/cpp/validate.hpp>

#include <set>

namespace conformance {
namespace {

std::set<std::string> ids_of(const std::vector<muster::sdk::Instance>& list) {
    std::set<std::string> out;
    for (const auto& i : list) out.insert(i.id);
    return out;
}

AddRule r1{{"R1", "writes (register, heartbeat, deregister, reap) answer UNSUPPORTED and change nothing",
            MUSTER_BACKEND_CAP_READ_ONLY, true, [](Context& c) {
                auto b = c.backend();
                auto before = list(*b, &c.fixture_role);
                check(!before.empty(), "the fixture role lists nothing: set the store up first");
                const auto& vt = c.vt();
                // The plugin's own answers, not the host's: straight through the vtable.
                muster_backend* raw = nullptr;
                std::vector<muster_option> opts;
                for (auto& [k, v] : c.options) opts.push_back({k.c_str(), v.c_str()});
                muster_backend_config cfg{sizeof cfg, 0, nullptr, opts.data(), opts.size(), c.ttl_ms};
                muster_error err{};
                check(vt.create(&cfg, &raw, &err) == MUSTER_OK, std::string("create: ") + err.message);
                struct Destroy {
                    const muster_backend_v1& vt;
                    muster_backend* b;
                    ~Destroy() { vt.destroy(b); }
                } destroy{vt, raw};
                auto expect = [&](const std::string& what, muster_status got) {
                    check(got == MUSTER_UNSUPPORTED,
                          what + " answered " + std::string(muster_status_name(got)) + " (want unsupported)");
                    check(err.message[0] != '\0', what + ": UNSUPPORTED without a message saying why");
                };
                auto in = c.instance(c.fixture_role, 7401);
                muster::sdk::CView view(in);
                expect("register", vt.register_instance(raw, view.get(), &err));
                const char* ids[] = {before.front().id.c_str()};
                muster_status res[1];
                expect("heartbeat", vt.heartbeat(raw, ids, 1, res, &err));
                expect("deregister", vt.deregister(raw, ids[0], &err));
                std::uint64_t n = 0;
                expect("reap", vt.reap(raw, 0, &n, &err));
                check(ids_of(list(*b, &c.fixture_role)) == ids_of(before), "the role changed after refused writes");
            }}};

AddRule r2{{"R2",
            "holds_role answers from memory: the fixture role held, a role not mapped not; its list is OK and empty",
            MUSTER_BACKEND_CAP_READ_ONLY, true, [](Context& c) {
                auto b = c.backend();
                must(b->open(), "open");
                check(b->holds_role(&c.fixture_role), "the fixture role is not held");
                if (c.unheld_role.empty()) return;
                check(!b->holds_role(&c.unheld_role), "role '" + c.unheld_role + "' (--unheld-role) is held");
                check(list(*b, &c.unheld_role).empty(), "a role not held lists instances");
            }}};

AddRule r3{{"R3",
            "the fixture role lists COUNT valid instances of that role, each id once, the same ids from a second "
            "backend",
            MUSTER_BACKEND_CAP_READ_ONLY, true, [](Context& c) {
                auto b = c.backend();
                auto got = list(*b, &c.fixture_role);
                check(got.size() == c.fixture_count,
                      "listed " + std::to_string(got.size()) + " instances, want " + std::to_string(c.fixture_count));
                for (const auto& i : got) {
                    muster::sdk::CView view(i);
                    auto why = muster::sdk::check_instance(view.get());
                    check(why.empty(), "instance " + i.id + " breaks the field rules: " + why);
                    check(i.role == c.fixture_role, "instance " + i.id + " has role '" + i.role + "'");
                    check(i.last_seen_ms > 0 && i.registered_at_ms > 0, "instance " + i.id + " lacks its timestamps");
                }
                check(ids_of(got).size() == got.size(), "an id is listed twice");
                check(ids_of(list(*c.backend(), &c.fixture_role)) == ids_of(got),
                      "a second backend lists other ids: ids must derive from the store's data");
            }}};

AddRule r4{{"R4", "the every-role list includes the fixture role's instances", MUSTER_BACKEND_CAP_READ_ONLY, true,
            [](Context& c) {
                auto b = c.backend();
                auto role = ids_of(list(*b, &c.fixture_role));
                auto all = ids_of(list(*b, nullptr));
                for (const auto& id : role)
                    check(all.count(id) == 1, "instance " + id + " is not in the every-role list");
            }}};

AddRule r5{{"R5",
            "a watch of the fixture role starts with ADDED for each listed instance, then SYNCED; unwatch ends it",
            MUSTER_BACKEND_CAP_READ_ONLY | MUSTER_BACKEND_CAP_WATCH, true, [](Context& c) {
                auto b = c.backend();
                auto listed_ids = ids_of(list(*b, &c.fixture_role));
                Recorder r;
                auto w = start(*b, c.fixture_role, r);
                check(r.wait(c.patience_ms(), MUSTER_EVENT_SYNCED), "no SYNCED event " + c.within());
                std::set<std::string> added;
                for (const auto& e : r.snapshot()) {
                    if (e.type == MUSTER_EVENT_SYNCED) break;
                    check(e.type == MUSTER_EVENT_ADDED && e.instance, "an event other than ADDED came before SYNCED");
                    added.insert(e.instance->id);
                }
                check(added == listed_ids, "the ADDED events are not the listed instances");
                w.reset();
                check(r.count(MUSTER_EVENT_TERMINATED) == 1, "unwatch did not end with one TERMINATED");
                check(!r.overlapped, "two callbacks of the watch overlapped");
            }}};

}  // namespace
}  // namespace conformance
