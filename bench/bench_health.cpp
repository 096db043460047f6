// Health checks, next to the bare engine:
//  1. 1,000 instances checked over HTTP every second by a registry
//     (health-http on the check workers) against a bare libcurl loop making
//     the same requests at the same rate on as many threads: CPU per 1,000
//     checks, and the ratio; the latency of one check through the plugin
//     next to one bare curl_easy_perform.
//  2. the time from a health change in one process (Registration::
//     set_health) to the `changed` event of a watch in another, per
//     backend: catalog-sqlite always, catalog-postgres and nats-kv when
//     MUSTER_TEST_PG_URL / MUSTER_TEST_NATS_URL are set.
// The HTTP server runs in a child process, so only the client's CPU counts.
#include "../tests/support/http_stub.hpp"
#include "bench_util.hpp"

#include <muster/core/registry.hpp>

#include <curl/curl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <muster/core/log.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace muster::core;
using namespace std::chrono_literals;

namespace {

// An HTTP server in a child process; `served` counts its requests.
struct ServerProcess {
    pid_t pid = 0;
    int port = 0;
    std::atomic<long>* served = nullptr;
    ServerProcess() {
        void* shared = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        served = new (shared) std::atomic<long>(0);
        auto* port_slot = reinterpret_cast<std::atomic<int>*>(static_cast<char*>(shared) + 64);
        new (port_slot) std::atomic<int>(0);
        pid = fork();
        if (pid == 0) {
            test_support::HttpStub stub;
            stub.answer(200, "ok");
            *port_slot = stub.port();
            for (;;) {
                *served = stub.requests();
                std::this_thread::sleep_for(10ms);
            }
        }
        while (*port_slot == 0) std::this_thread::sleep_for(1ms);
        port = *port_slot;
    }
    ~ServerProcess() {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
};

std::size_t drop(char*, std::size_t size, std::size_t n, void*) { return size * n; }

long bare_request(const std::string& url) {
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 500L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &drop);
    curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return code;
}

void http_checks(PluginLoader& loader, int instances, int seconds) {
    ServerProcess server;
    std::string address = "127.0.0.1:" + std::to_string(server.port);
    auto client = HealthClient::create(loader.load("health-http"), {{"url", "http://{address}/healthz"}});
    muster::sdk::Instance probe;
    probe.id = new_instance_id();
    probe.role = "api";
    probe.address = address;

    // Latency of one check, sequential.
    std::vector<double> plugin_us, bare_us;
    for (int i = 0; i < 2000; ++i) {
        auto t0 = bench::Clock::now();
        client->check(probe, 500);
        plugin_us.push_back(bench::seconds_since(t0) * 1e6);
        t0 = bench::Clock::now();
        bare_request("http://" + address + "/healthz");
        bare_us.push_back(bench::seconds_since(t0) * 1e6);
    }

    // The registry checking `instances` instances every second.
    RegistryOptions opt;
    opt.heartbeat_interval = 5s;
    auto backend = BackendClient::create(loader.load("memory"), {}, 30000);
    double registry_cpu = 0, registry_rate = 0;
    {
        Registry registry(std::make_shared<Chain>(std::vector<Link>{{backend, true}}), opt);
        CheckSpec spec{"api", client, 1000ms, 500ms, 1, 1, 0ms};
        std::vector<Registration> regs;
        for (int i = 0; i < instances; ++i)
            regs.push_back(registry.register_instance({"api", address, "", {}, {spec}, {}}));
        std::this_thread::sleep_for(1500ms);  // the schedules spread out
        long before = *server.served;
        double cpu0 = bench::cpu_seconds();
        std::this_thread::sleep_for(std::chrono::seconds(seconds));
        registry_cpu = bench::cpu_seconds() - cpu0;
        registry_rate = static_cast<double>(*server.served - before) / seconds;
    }

    // A bare loop: the same requests at the same rate on 4 threads.
    long before = *server.served;
    double cpu0 = bench::cpu_seconds();
    std::vector<std::thread> threads;
    auto until = bench::Clock::now() + std::chrono::seconds(seconds);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            auto next = bench::Clock::now();
            while (next < until) {
                bare_request("http://" + address + "/healthz");
                next += std::chrono::microseconds(4 * 1000000 / instances);
                std::this_thread::sleep_until(next);
            }
        });
    for (auto& t : threads) t.join();
    double bare_cpu = bench::cpu_seconds() - cpu0;
    double bare_rate = static_cast<double>(*server.served - before) / seconds;

    std::printf("health-http: %d instances checked every 1 s for %d s, server in another process\n", instances,
                seconds);
    bench::row("registry: checks per second", registry_rate, "/s");
    bench::row("bare libcurl loop: requests per second", bare_rate, "/s");
    double per_k_registry = registry_cpu / (registry_rate * seconds) * 1000;
    double per_k_bare = bare_cpu / (bare_rate * seconds) * 1000;
    bench::row("registry: CPU per 1,000 checks", per_k_registry * 1000, "ms");
    bench::row("bare libcurl: CPU per 1,000 requests", per_k_bare * 1000, "ms");
    bench::row("ratio registry / bare (CPU per check)", per_k_registry / per_k_bare, "x");
    double p50 = bench::percentile(plugin_us, 50), b50 = bench::percentile(bare_us, 50);
    bench::row("one check through health-http, median", p50, "us");
    bench::row("one bare curl_easy_perform, median", b50, "us");
    bench::row("ratio plugin / bare (median latency)", p50 / b50, "x");
    bench::row("one check through health-http, p99", bench::percentile(plugin_us, 99), "us");
    bench::row("one bare curl_easy_perform, p99", bench::percentile(bare_us, 99), "us");
}

std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A child process flips its pushed health with the time in the reason; this
// process's watch measures when each change arrives.
void flip_latency(PluginLoader& loader, const std::string& plugin,
                  const std::vector<std::pair<std::string, std::string>>& options, int flips) {
    RegistryOptions opt;
    opt.heartbeat_interval = 1s;
    opt.ttl = 5s;
    pid_t child = fork();
    if (child == 0) {
        std::this_thread::sleep_for(500ms);  // the watcher first
        Registry registry(std::make_shared<Chain>(
                              std::vector<Link>{{BackendClient::create(loader.load(plugin), options, 5000), true}}),
                          opt);
        auto reg = registry.register_instance({"flipper", "127.0.0.1:9", "", {}, {}, {}});
        for (int i = 0; i < flips; ++i) {
            std::this_thread::sleep_for(100ms);
            reg.set_health(i % 2 ? MUSTER_HEALTH_PASSING : MUSTER_HEALTH_WARNING, "t=" + std::to_string(wall_ns()));
        }
        std::this_thread::sleep_for(500ms);
        std::_Exit(0);
    }
    std::mutex mu;
    std::vector<double> ms;
    {
        Registry registry(std::make_shared<Chain>(
                              std::vector<Link>{{BackendClient::create(loader.load(plugin), options, 5000), true}}),
                          opt);
        auto sub = registry.watch(std::string("flipper"), [&](const TopologyEvent& e) {
            if (e.type != MUSTER_EVENT_CHANGED) return;
            auto it = e.instance.metadata.find(MUSTER_META_HEALTH_REASON);
            if (it == e.instance.metadata.end() || it->second.rfind("pushed: t=", 0) != 0) return;
            std::lock_guard lk(mu);
            ms.push_back(static_cast<double>(wall_ns() - std::stoll(it->second.substr(10))) / 1e6);
        });
        waitpid(child, nullptr, 0);
    }
    std::printf("health change in one process -> changed event in another, %s, %zu of %d flips\n", plugin.c_str(),
                ms.size(), flips);
    bench::row("median", bench::percentile(ms, 50), "ms");
    bench::row("p99", bench::percentile(ms, 99), "ms");
}

}  // namespace

int main(int argc, char** argv) {
    muster::core::log::set_level(spdlog::level::warn);
    int instances = argc > 1 ? std::atoi(argv[1]) : 1000;
    int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    PluginLoader loader;
    http_checks(loader, instances, seconds);
    auto db = std::filesystem::temp_directory_path() / ("bench-health-" + std::to_string(getpid()) + ".db");
    flip_latency(loader, "catalog-sqlite", {{"path", db.string()}}, 50);
    for (auto ext : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + ext);
    if (const char* pg = std::getenv("MUSTER_TEST_PG_URL"))
        flip_latency(loader, "catalog-postgres", {{"url", pg}, {"schema", "bench_health"}}, 50);
    if (const char* nats = std::getenv("MUSTER_TEST_NATS_URL"))
        flip_latency(loader, "nats-kv", {{"url", nats}, {"bucket", "bench-health-" + std::to_string(getpid())}}, 50);
}
