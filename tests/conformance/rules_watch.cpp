// Rules W: watches (only for plugins that claim MUSTER_BACKEND_CAP_WATCH).
#include "suite.hpp"

#include <atomic>
#include <mutex>
#include <thread>

namespace conformance {
namespace {

AddRule w1{{"W1", "a watch starts with ADDED for each live instance, then SYNCED", MUSTER_BACKEND_CAP_WATCH, true,
            [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("w1");
                auto x = c.instance(role, 7201), y = c.instance(role, 7202);
                must(b->register_instance(x), "register");
                must(b->register_instance(y), "register");
                KeepAlive alive(*b, c.ttl_ms);
                alive.add(x.id);
                alive.add(y.id);
                Recorder r;
                auto w = start(*b, role, r);
                check(r.wait(c.patience_ms(), MUSTER_EVENT_SYNCED), "no SYNCED event " + c.within());
                auto evs = r.snapshot();
                std::size_t synced_at = 0;
                while (evs[synced_at].type != MUSTER_EVENT_SYNCED) ++synced_at;
                check(synced_at == 2, "expected 2 ADDED before SYNCED, got " + std::to_string(synced_at) + " events");
                check(r.count(MUSTER_EVENT_ADDED, x.id) == 1 && r.count(MUSTER_EVENT_ADDED, y.id) == 1,
                      "an ADDED is missing or repeated");
                w.reset();
            }}};

AddRule w2{
    {"W2", "changes arrive in order: ADDED, CHANGED, REMOVED; nothing overlaps", MUSTER_BACKEND_CAP_WATCH, true,
     [](Context& c) {
         auto b = c.backend();
         std::string role = c.fresh_role("w2");
         Recorder r;
         auto w = start(*b, role, r);
         check(r.wait(c.patience_ms(), MUSTER_EVENT_SYNCED), "no SYNCED event " + c.within());
         auto in = c.instance(role, 7203);
         KeepAlive alive(*b, c.ttl_ms);
         must(b->register_instance(in), "register");
         alive.add(in.id);
         check(r.wait(c.patience_ms(), MUSTER_EVENT_ADDED, in.id), "no ADDED " + c.within() + " of register");
         in.address = "127.0.0.1:7204";
         must(b->register_instance(in), "re-register with a new address");
         check(r.wait(c.patience_ms(), MUSTER_EVENT_CHANGED, in.id),
               "no CHANGED " + c.within() + " of an address change");
         must(b->deregister(in.id), "deregister");
         check(r.wait(c.patience_ms(), MUSTER_EVENT_REMOVED, in.id), "no REMOVED " + c.within() + " of deregister");
         std::vector<muster_event_type> order;
         for (const auto& e : r.snapshot())
             if (e.instance && e.instance->id == in.id) order.push_back(e.type);
         check(order == std::vector<muster_event_type>{MUSTER_EVENT_ADDED, MUSTER_EVENT_CHANGED, MUSTER_EVENT_REMOVED},
               "events for the instance came out of order or repeated");
         check(!r.overlapped, "two callbacks of one watch ran at once");
         w.reset();
     }}};

AddRule w3{{"W3", "unwatch delivers exactly one TERMINATED, last, and nothing after it returns",
            MUSTER_BACKEND_CAP_WATCH, true, [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("w3");
                Recorder r;
                auto w = start(*b, role, r);
                check(r.wait(c.patience_ms(), MUSTER_EVENT_SYNCED), "no SYNCED event " + c.within());
                // Keep the store busy while unwatching, to catch late callbacks.
                std::atomic<bool> stop{false};
                std::thread writer([&] {
                    for (int i = 0; !stop && i < 200; ++i) b->register_instance(c.instance(role, 7300 + i));
                });
                sleep_ms(30);
                w.reset();
                r.closed = true;
                sleep_ms(1000);  // a late callback may be a thread starved for a while on a loaded machine
                stop = true;
                writer.join();
                auto evs = r.snapshot();
                check(r.count(MUSTER_EVENT_TERMINATED) == 1,
                      "TERMINATED came " + std::to_string(r.count(MUSTER_EVENT_TERMINATED)) + " times");
                check(!evs.empty() && evs.back().type == MUSTER_EVENT_TERMINATED, "TERMINATED was not the last event");
                check(!r.after_close, "a callback ran after unwatch returned");
            }}};

AddRule w4{{"W4", "an instance that stops heartbeating is reported REMOVED within the ttl plus a sweep",
            MUSTER_BACKEND_CAP_WATCH, true, [](Context& c) {
                auto b = c.backend();
                std::string role = c.fresh_role("w4");
                Recorder r;
                auto w = start(*b, role, r);
                check(r.wait(c.patience_ms(), MUSTER_EVENT_SYNCED), "no SYNCED event " + c.within());
                auto in = c.instance(role, 7205);
                KeepAlive alive(*b, c.ttl_ms);
                must(b->register_instance(in), "register");
                alive.add(in.id);
                check(r.wait(c.patience_ms(), MUSTER_EVENT_ADDED, in.id), "no ADDED " + c.within());
                alive.remove(in.id);  // from now on it only ages
                check(r.wait(c.ttl_ms + c.patience_ms(), MUSTER_EVENT_REMOVED, in.id),
                      "no REMOVED within the ttl + " + std::to_string(c.patience_ms()) + " ms of the last heartbeat");
                w.reset();
            }}};

AddRule w5{{"W5", "a watch of one role sees nothing of another, also of one it is a prefix of",
            MUSTER_BACKEND_CAP_WATCH, true, [](Context& c) {
                auto b = c.backend();
                std::string mine = c.fresh_role("w5"), other = mine + "-admin";
                Recorder r;
                auto w = start(*b, mine, r);
                check(r.wait(c.patience_ms(), MUSTER_EVENT_SYNCED), "no SYNCED event " + c.within());
                auto theirs = c.instance(other, 7206), ours = c.instance(mine, 7207);
                KeepAlive alive(*b, c.ttl_ms);
                must(b->register_instance(theirs), "register");
                must(b->register_instance(ours), "register");
                alive.add(theirs.id);
                alive.add(ours.id);
                check(r.wait(c.patience_ms(), MUSTER_EVENT_ADDED, ours.id), "no ADDED for the watched role");
                for (const auto& e : r.snapshot())
                    check(!e.instance || e.instance->role == mine,
                          "an event of role " + (e.instance ? e.instance->role : "") + " arrived");
                w.reset();
            }}};

}  // namespace
}  // namespace conformance
