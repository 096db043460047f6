// The chain under a fault, measured: a chain of nats-kv then catalog-sqlite,
// nats-server killed with -9 and brought back, several times:
//  - failover: from the kill to the first answer from the next backend;
//  - resolve latency while it happens (served from the cache);
//  - recovery: from the restart to nats-kv holding every live registration.
// Then nats-server frozen (SIGSTOP: a hang, not a death) and thawed, on the
// chain's default deadlines and the plugin's default 2 s request timeout:
//  - how long until the running process's breaker opens;
//  - a read through the running process's chain right after the freeze;
//  - a fresh process's list (new clients, opened in parallel);
//  - the longest gap between heartbeats on catalog-sqlite meanwhile.
// Needs MUSTER_TEST_NATS_URL, MUSTER_TEST_NATS_KILL, MUSTER_TEST_NATS_START
// (and MUSTER_TEST_NATS_FREEZE, MUSTER_TEST_NATS_THAW for the hang rows).
#include "bench_util.hpp"

#include <muster/core/registry.hpp>

#include <unistd.h>
#include <muster/core/log.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

using namespace muster::core;
using namespace std::chrono_literals;

namespace {
std::string env(const char* n) {
    const char* v = std::getenv(n);
    return v ? v : "";
}

void run_command(const char* name) { std::system((env(name) + " >/dev/null 2>&1").c_str()); }

// A chain of nats-kv and catalog-sqlite with the plugins' default timeouts.
std::shared_ptr<Chain> default_chain(PluginLoader& loader, const std::string& tag, const std::string& db) {
    auto nats =
        BackendClient::prepare(loader.load("nats-kv"), {{"url", env("MUSTER_TEST_NATS_URL")}, {"bucket", tag}}, 3000);
    auto lite = BackendClient::prepare(loader.load("catalog-sqlite"), {{"path", db}}, 3000);
    auto chain = std::make_shared<Chain>(std::vector<Link>{{nats}, {lite}});
    chain->open_all(ChainOptions{}.read_timeout);
    return chain;
}

void hang_cycles(PluginLoader& loader, int runs) {
    std::string tag = "hang" + std::to_string(getpid());
    auto db = std::filesystem::temp_directory_path() / (tag + ".db");
    auto chain = default_chain(loader, tag, db.string());
    auto lite = chain->links()[1].backend;
    RegistryOptions opt;
    opt.heartbeat_interval = 1000ms;
    opt.ttl = 3000ms;
    Registry registry(chain, opt);
    auto reg = registry.register_instance({"hung", "10.0.0.1:1", "", {}, {}, {}});
    const std::string role = "hung";
    std::vector<double> open_ms, read_ms, fresh_ms, gap_ms;
    for (int run = 0; run < runs; ++run) {
        // Each cycle starts with the link recovered and idle.
        auto since = bench::Clock::now();
        while (chain->status()[0].state != muster::core::Breaker::State::closed && bench::seconds_since(since) < 15)
            std::this_thread::sleep_for(10ms);
        std::this_thread::sleep_for(1500ms);
        run_command("MUSTER_TEST_NATS_FREEZE");
        auto frozen = bench::Clock::now();
        auto r0 = bench::Clock::now();
        chain->list(&role, 0);
        read_ms.push_back(bench::seconds_since(r0) * 1000);
        auto f0 = bench::Clock::now();
        default_chain(loader, tag, db.string())->list(&role, 0);
        fresh_ms.push_back(bench::seconds_since(f0) * 1000);
        bool seen_open = false;
        std::int64_t last = 0, gap = 0;
        while (bench::seconds_since(frozen) < 5) {
            if (!seen_open && chain->status()[0].state != muster::core::Breaker::State::closed) {
                open_ms.push_back(bench::seconds_since(frozen) * 1000);
                seen_open = true;
            }
            std::vector<muster::sdk::Instance> got;
            if (lite->list(&role, 0, got).ok() && !got.empty()) {
                if (last != 0 && got[0].last_seen_ms != last) gap = std::max(gap, got[0].last_seen_ms - last);
                last = got[0].last_seen_ms;
            }
            std::this_thread::sleep_for(10ms);
        }
        gap_ms.push_back(static_cast<double>(gap));
        run_command("MUSTER_TEST_NATS_THAW");
    }
    std::printf("chain nats-kv -> catalog-sqlite, %d SIGSTOP / SIGCONT cycles of nats-server, default deadlines\n",
                runs);
    bench::row("hang: freeze -> running process's breaker open, median (aim <= 1000)", bench::percentile(open_ms, 50),
               "ms");
    bench::row("hang: running process's read right after the freeze, median (aim <= 250)",
               bench::percentile(read_ms, 50), "ms");
    bench::row("hang: fresh process's list, median (aim <= 500)", bench::percentile(fresh_ms, 50), "ms");
    bench::row("hang: longest heartbeat gap on catalog-sqlite, max (interval 1000)", bench::percentile(gap_ms, 100),
               "ms");
    reg.stop();
    for (auto ext : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + ext);
}
}  // namespace

int main(int argc, char** argv) {
    muster::core::log::set_level(spdlog::level::err);
    if (env("MUSTER_TEST_NATS_URL").empty() || env("MUSTER_TEST_NATS_KILL").empty()) {
        std::puts("set MUSTER_TEST_NATS_URL/KILL/START (scripts/nats-start.sh DIR writes DIR/env)");
        return 0;
    }
    int runs = argc > 1 ? std::atoi(argv[1]) : 5;
    std::string tag = "failover" + std::to_string(getpid());
    auto db = std::filesystem::temp_directory_path() / (tag + ".db");
    PluginLoader loader;
    auto nats = BackendClient::create(
        loader.load("nats-kv"), {{"url", env("MUSTER_TEST_NATS_URL")}, {"bucket", tag}, {"request_timeout", "250ms"}},
        5000);
    auto lite = BackendClient::create(loader.load("catalog-sqlite"), {{"path", db.string()}}, 5000);
    auto chain = std::make_shared<Chain>(std::vector<Link>{{nats, true}, {lite, true}});
    RegistryOptions opt;
    opt.heartbeat_interval = 1000ms;
    opt.ttl = 5000ms;
    opt.cache_refresh = 100ms;
    Registry registry(chain, opt);
    std::vector<Registration> regs;
    std::set<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        regs.push_back(registry.register_instance({"svc", "10.0.0.1:" + std::to_string(7000 + i), "", {}, {}, {}}));
        ids.insert(regs.back().id());
    }
    registry.resolve("svc");
    std::vector<double> failover_ms, recovery_ms, resolve_ns;
    const std::string role = "svc";
    for (int run = 0; run < runs; ++run) {
        std::this_thread::sleep_for(1500ms);
        std::atomic<bool> stop{false};
        std::vector<double> lat;
        std::thread reader([&] {
            while (!stop) {
                auto t0 = bench::Clock::now();
                auto snap = registry.resolve(role);
                lat.push_back(bench::seconds_since(t0) * 1e9);
                if (!snap) std::abort();
                std::this_thread::sleep_for(100us);
            }
        });
        std::system((env("MUSTER_TEST_NATS_KILL") + " >/dev/null 2>&1").c_str());
        auto killed = bench::Clock::now();
        for (;;) {
            auto r = chain->list(&role, 0);
            if (r.outcome.ok() && r.backend == lite->name()) break;
            std::this_thread::sleep_for(1ms);
        }
        failover_ms.push_back(bench::seconds_since(killed) * 1000);
        std::this_thread::sleep_for(500ms);
        stop = true;
        reader.join();
        resolve_ns.insert(resolve_ns.end(), lat.begin(), lat.end());
        std::system((env("MUSTER_TEST_NATS_START") + " >/dev/null 2>&1").c_str());
        auto started = bench::Clock::now();
        for (;;) {
            std::vector<muster::sdk::Instance> got;
            std::set<std::string> have;
            if (nats->list(&role, 0, got).ok())
                for (auto& i : got) have.insert(i.id);
            bool closed = chain->status()[0].state == muster::core::Breaker::State::closed;
            if (have == ids && closed) break;
            if (bench::seconds_since(started) > 30) break;
            std::this_thread::sleep_for(5ms);
        }
        recovery_ms.push_back(bench::seconds_since(started) * 1000);
    }
    std::printf("chain nats-kv -> catalog-sqlite, %d kill -9 / restart cycles, 20 registrations\n", runs);
    bench::row("failover: kill -> first answer from the next, median", bench::percentile(failover_ms, 50), "ms");
    bench::row("failover: kill -> first answer from the next, p99 (aim <= 250)", bench::percentile(failover_ms, 99),
               "ms");
    bench::row("resolve during failover, median", bench::percentile(resolve_ns, 50), "ns");
    bench::row("resolve during failover, p99", bench::percentile(resolve_ns, 99), "ns");
    bench::row("recovery: restart -> nats-kv holds every registration, median", bench::percentile(recovery_ms, 50),
               "ms");
    bench::row("recovery: ... p99 (aim: one heartbeat interval, 1000)", bench::percentile(recovery_ms, 99), "ms");
    regs.clear();
    for (auto ext : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + ext);
    if (!env("MUSTER_TEST_NATS_FREEZE").empty()) hang_cycles(loader, runs);
}
