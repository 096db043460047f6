// Rule U: a store that is not there. Run with --unreachable-option
// key=value (options that point the plugin at a store that does not exist
// or does not answer); without them the rule is skipped.
#include "suite.hpp"

#include <muster/core/host_services.hpp>

#include <chrono>

namespace conformance {
namespace {

bool down(muster_status s) { return s == MUSTER_UNAVAILABLE || s == MUSTER_TRY_AGAIN; }

AddRule u1{
    {"U1",
     "against a store that is not there, create fails with UNAVAILABLE or TRY_AGAIN, or succeeds and then "
     "every call answers UNAVAILABLE or TRY_AGAIN (never OK, never NOT_FOUND) within the bound",
     0, true,
     [](Context& c) {
         const auto& vt = c.vt();
         std::vector<muster_option> raw;
         for (auto& [k, v] : c.unreachable) raw.push_back({k.c_str(), v.c_str()});
         muster_backend_config cfg{sizeof cfg, 0,          muster::core::HostServices::instance().table(),
                                   raw.data(), raw.size(), c.ttl_ms};
         // Each call is timed: a plugin must bound its calls by its own timeouts.
         auto timed = [&](const std::string& what, auto&& call) {
             auto t0 = std::chrono::steady_clock::now();
             muster_status st = call();
             auto ms =
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
             check(ms <= c.unreachable_within_ms, what + " took " + std::to_string(ms) +
                                                      " ms, more than --unreachable-within (" +
                                                      std::to_string(c.unreachable_within_ms) + " ms)");
             return st;
         };
         muster_backend* b = nullptr;
         muster_error err{};
         muster_status st = timed("create", [&] { return vt.create(&cfg, &b, &err); });
         if (st != MUSTER_OK) {
             check(down(st), std::string("create against a store that is not there answered ") +
                                 muster_status_name(st) + " (want unavailable or try_again): " + err.message);
             return;
         }
         struct Destroy {
             const muster_backend_v1& vt;
             muster_backend* b;
             ~Destroy() { vt.destroy(b); }
         } destroy{vt, b};
         auto in = c.instance(c.fresh_role("gone"), 7301);
         muster::sdk::CView view(in);
         auto expect_down = [&](const std::string& what, muster_status got) {
             check(down(got), what + " against a store that is not there answered " + muster_status_name(got) +
                                  " (want unavailable or try_again: an answer would be a lie)");
         };
         // A read-only backend refuses writes whether its store is there or not.
         auto expect_write = [&](const std::string& what, muster_status got) {
             if (vt.capabilities & MUSTER_BACKEND_CAP_READ_ONLY)
                 check(got == MUSTER_UNSUPPORTED,
                       what + " on a read-only backend answered " + muster_status_name(got) + " (want unsupported)");
             else
                 expect_down(what, got);
         };
         expect_write("register", timed("register", [&] { return vt.register_instance(b, view.get(), &err); }));
         const char* ids[] = {in.id.c_str()};
         muster_status res[1];
         expect_write("heartbeat", timed("heartbeat", [&] { return vt.heartbeat(b, ids, 1, res, &err); }));
         expect_write("deregister", timed("deregister", [&] { return vt.deregister(b, in.id.c_str(), &err); }));
         auto sink = [](void*, const muster_instance*) { return 0; };
         expect_down("list", timed("list", [&] { return vt.list(b, in.role.c_str(), 0, sink, nullptr, &err); }));
         if (vt.capabilities & MUSTER_BACKEND_CAP_REAP) {
             std::uint64_t n = 0;
             expect_down("reap", timed("reap", [&] { return vt.reap(b, 0, &n, &err); }));
         }
     },
     true}};

}  // namespace
}  // namespace conformance
