// Rules H: health checks (plugins of the muster.health/1 kind). The suite's
// --option values configure the check (e.g. url=http://{address}/ for
// health-http, command="sleep 10" for health-exec); the instances it checks
// point at addresses the suite controls: one that accepts connections and
// never answers, and one where nothing listens.
#include "suite.hpp"

#include <muster/cpp/instance.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace conformance {
namespace {

// A loopback port that accepts connections (the kernel completes them) and
// never reads or answers; closed, nothing listens there.
struct SilentPort {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = 0;
    SilentPort() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(fd, 128);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~SilentPort() { close(fd); }
};

int closed_port() {
    SilentPort p;
    return p.port;  // closed when p goes: nothing listens there now
}

// A created check of the plugin under test, called through the raw ABI so
// the rule sees statuses and messages as they are.
class Check {
public:
    explicit Check(const Context& c) : vt_(c.hvt()) {
        std::vector<muster_option> raw;
        for (const auto& [k, v] : c.options) raw.push_back({k.c_str(), v.c_str()});
        muster_health_config cfg{sizeof cfg, 0, nullptr, raw.data(), raw.size()};
        muster_error err{};
        muster_status st = vt_.create(&cfg, &check_, &err);
        conformance::check(st == MUSTER_OK && check_, std::string("create failed: ") + muster_status_name(st) + ": " +
                                                          err.message + " (give the check's options with --option)");
    }
    ~Check() {
        if (check_) vt_.destroy(check_);
    }
    struct Result {
        muster_status status;
        std::uint32_t health;  // as the plugin wrote it: not trusted to be a muster_health
        std::string message;
        std::int64_t took_ms;
    };
    Result run(const muster::sdk::Instance& in, std::int64_t timeout_ms) {
        muster::sdk::CView view(in);
        return run_raw(view.get(), timeout_ms);
    }
    Result run_raw(const muster_instance* in, std::int64_t timeout_ms, bool null_health = false) {
        // Read back as raw bytes: a broken plugin may write a value that is
        // no muster_health, and loading that as the enum is undefined.
        std::uint32_t h = 77;
        muster_error err{};
        auto start = std::chrono::steady_clock::now();
        muster_status st =
            vt_.check(check_, in, timeout_ms, null_health ? nullptr : reinterpret_cast<muster_health*>(&h), &err);
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        return {st, h, std::string(err.message, strnlen(err.message, sizeof err.message)), took.count()};
    }

private:
    const muster_health_v1& vt_;
    muster_health_check* check_ = nullptr;
};

muster::sdk::Instance at(const Context& c, int port) {
    auto i = c.instance("chealth", port);
    return i;
}

std::string verdict_problem(const Check::Result& r) {
    if (r.status != MUSTER_OK) return {};  // the check could not run: allowed, with a message
    if (r.health > MUSTER_HEALTH_CRITICAL) return "verdict " + std::to_string(r.health) + " is not a muster_health";
    return {};
}

AddRule h1{{"H1", "the health struct is complete for ABI 1.0", 0, false,
            [](Context& c) {
                const auto& v = c.hvt();
                check(v.struct_size >= sizeof(muster_health_v1), "struct_size " + std::to_string(v.struct_size) +
                                                                     " < " + std::to_string(sizeof(muster_health_v1)));
                check(v.name && *v.name, "the check has no name");
                check(v.description != nullptr, "the check has no description");
                check(v.create && v.destroy && v.check, "create, destroy or check is NULL");
                check(v.capabilities == 0, "capability bits are claimed, and none are defined for checks");
            },
            false, true}};

AddRule h2{{"H2",
            "the timeout is honoured: against a port that accepts and never answers, the verdict comes within "
            "timeout + 100 ms",
            0, false,
            [](Context& c) {
                SilentPort silent;
                Check chk(c);
                for (std::int64_t timeout : {300, 700}) {
                    auto r = chk.run(at(c, silent.port), timeout);
                    check(r.took_ms <= timeout + 100, "a check with timeout " + std::to_string(timeout) + " ms took " +
                                                          std::to_string(r.took_ms) + " ms");
                    check(verdict_problem(r).empty(), verdict_problem(r));
                }
            },
            false, true}};

AddRule h3{{"H3",
            "verdicts are passing, warning or critical with status OK (or a status and a message when the check "
            "cannot run); bad input is refused with INVALID_ARGUMENT",
            0, false,
            [](Context& c) {
                Check chk(c);
                auto r = chk.run(at(c, closed_port()), 1000);
                check(verdict_problem(r).empty(), verdict_problem(r));
                check(r.status == MUSTER_OK || !r.message.empty(),
                      std::string("check answered ") + muster_status_name(r.status) + " without a message");
                check(r.status != MUSTER_OK || r.health != MUSTER_HEALTH_PASSING,
                      "an address where nothing listens was judged passing");
                auto bad = at(c, 1);
                bad.id = "not-a-uuid";
                check(chk.run(bad, 1000).status == MUSTER_INVALID_ARGUMENT, "an instance with a bad id was checked");
                check(chk.run(at(c, 1), 0).status == MUSTER_INVALID_ARGUMENT, "a timeout of 0 was accepted");
                muster::sdk::CView view(at(c, 1));
                check(chk.run_raw(view.get(), 1000, true).status == MUSTER_INVALID_ARGUMENT,
                      "a NULL health pointer was accepted");
                check(chk.run_raw(nullptr, 1000).status == MUSTER_INVALID_ARGUMENT, "a NULL instance was accepted");
            },
            false, true}};

AddRule h4{{"H4", "checks from 8 threads at once each get a verdict within their timeout", 0, false,
            [](Context& c) {
                SilentPort silent;
                Check chk(c);
                std::atomic<int> bad{0};
                std::string first_problem;
                std::mutex mu;
                std::vector<std::thread> threads;
                for (int t = 0; t < 8; ++t)
                    threads.emplace_back([&, t] {
                        for (int i = 0; i < 5; ++i) {
                            int port = (t + i) % 2 ? silent.port : closed_port();
                            auto r = chk.run(at(c, port), 300);
                            std::string p = verdict_problem(r);
                            if (p.empty() && r.took_ms > 300 + 200) p = "took " + std::to_string(r.took_ms) + " ms";
                            if (p.empty() && r.status != MUSTER_OK && r.message.empty()) p = "status without message";
                            if (!p.empty()) {
                                std::lock_guard lk(mu);
                                if (bad++ == 0) first_problem = p;
                            }
                        }
                    });
                for (auto& th : threads) th.join();
                check(bad == 0,
                      std::to_string(bad.load()) + " of 40 concurrent checks went wrong, first: " + first_problem);
            },
            false, true}};

AddRule h5{{"H5", "the values of secret options never appear in a message of create or check", 0, false,
            [](Context& c) {
                auto [specs, count] = c.schema();
                std::vector<std::string> secrets;
                for (std::size_t i = 0; i < count; ++i)
                    if (specs[i].flags & MUSTER_OPT_SECRET)
                        for (const auto& [k, v] : c.options)
                            if (k == specs[i].name && v.size() >= 4) secrets.push_back(v);
                auto leaks = [&](const std::string& message) {
                    for (const auto& s : secrets)
                        if (message.find(s) != std::string::npos) return true;
                    return false;
                };
                Options extra = c.options;
                extra.emplace_back("no_such_option_xyz", "1");
                muster_error err{};
                c.raw_create(extra, err);
                check(!leaks(err.message), "create's error message shows a secret option's value");
                SilentPort silent;
                Check chk(c);
                for (int port : {closed_port(), silent.port}) {
                    auto r = chk.run(at(c, port), 300);
                    check(!leaks(r.message), "a check's message shows a secret option's value: " + r.message);
                }
            },
            false, true}};

}  // namespace
}  // namespace conformance
