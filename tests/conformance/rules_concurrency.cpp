// Rules X: concurrent writers, from threads and from processes.
#include "suite.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace conformance {
namespace {

constexpr int kThreads = 8, kPerThread = 40;

AddRule x1{
    {"X1", "8 threads registering and heartbeating at once on one backend lose nothing", 0, true, [](Context& c) {
         auto b = c.backend();
         std::string role = c.fresh_role("thr");
         std::atomic<int> failures{0};
         std::string first_error;
         std::mutex mu;
         std::vector<std::string> all;
         std::vector<std::thread> threads;
         auto started = std::chrono::steady_clock::now();
         for (int t = 0; t < kThreads; ++t)
             threads.emplace_back([&, t] {
                 std::vector<std::string> mine;
                 for (int i = 0; i < kPerThread; ++i) {
                     auto in = c.instance(role, 10000 + t * 100 + i);
                     auto o = b->register_instance(in);
                     std::vector<muster_status> res;
                     if (o.ok()) {
                         mine.push_back(in.id);
                         o = b->heartbeat(mine, res);
                     }
                     if (!o.ok()) {
                         std::lock_guard lk(mu);
                         if (failures++ == 0) first_error = o.message;
                     }
                 }
                 std::lock_guard lk(mu);
                 all.insert(all.end(), mine.begin(), mine.end());
             });
         for (auto& t : threads) t.join();
         auto took =
             std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
         check(failures == 0, std::to_string(failures.load()) + " calls failed, first: " + first_error);
         // One heartbeat for all just before counting, so that a slow but
         // correct store is not taken for one that loses registrations.
         std::vector<muster_status> res;
         must(b->heartbeat(all, res), "heartbeat of every id");
         std::size_t unknown = 0;
         for (auto r : res) unknown += r == MUSTER_NOT_FOUND;
         auto n = list(*b, &role).size();
         std::string timing = took > c.ttl_ms ? " (the registrations took " + std::to_string(took) +
                                                    " ms, longer than the ttl of " + std::to_string(c.ttl_ms) +
                                                    " ms: for a slow store, run with a larger --ttl)"
                                              : "";
         check(unknown == 0, std::to_string(unknown) + " of " + std::to_string(all.size()) +
                                 " registered ids are unknown to a heartbeat right after" + timing);
         check(n == kThreads * kPerThread, "listed " + std::to_string(n) + " of " +
                                               std::to_string(kThreads * kPerThread) + " just after heartbeating all" +
                                               timing);
     }}};

AddRule x2{{"X2", "4 processes registering at once on one store lose nothing and see each other",
            MUSTER_BACKEND_CAP_SHARED, true, [](Context& c) {
                std::string role = c.fresh_role("proc");
                constexpr int kProcs = 4;
                std::vector<pid_t> pids;
                for (int p = 0; p < kProcs; ++p) {
                    pid_t pid = fork();
                    if (pid == 0) {
                        std::vector<std::string> args = {c.self_exe,
                                                         "--plugin",
                                                         c.plugin_arg,
                                                         "--ttl",
                                                         std::to_string(c.ttl_ms),
                                                         "--child-writer",
                                                         role,
                                                         "--child-count",
                                                         std::to_string(kPerThread)};
                        for (auto& [k, v] : c.options) args.insert(args.end(), {"--option", k + "=" + v});
                        std::vector<char*> argv;
                        for (auto& a : args) argv.push_back(a.data());
                        argv.push_back(nullptr);
                        execv(c.self_exe.c_str(), argv.data());
                        _exit(127);
                    }
                    check(pid > 0, "fork failed");
                    pids.push_back(pid);
                }
                int failed = 0;
                for (pid_t pid : pids) {
                    int status = 0;
                    waitpid(pid, &status, 0);
                    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
                }
                check(failed == 0, std::to_string(failed) + " writer processes failed");
                auto b = c.backend();
                // Stale ones count: a writer that exited a ttl before the
                // slowest (process start-up under ASan on a loaded machine
                // differs by more than the 1 s ttl) lost nothing.
                auto n = list(*b, &role, MUSTER_LIST_INCLUDE_STALE).size();
                check(n == kProcs * kPerThread,
                      "listed " + std::to_string(n) + " of " + std::to_string(kProcs * kPerThread));
            }}};

}  // namespace
}  // namespace conformance
