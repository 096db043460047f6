// etcd against bare clients in the same run, on the server named by
// MUSTER_TEST_ETCD_URL (scripts/etcd-start.sh starts one):
//  1. heartbeat throughput: the plugin (one id per call: a lease keep-alive
//     and a transaction) vs a bare put of the same document to the same key
//     over the same JSON gateway (libcurl, one kept-alive connection);
//  2. the batch heartbeat of 100 ids (a keep-alive and one transaction) vs
//     the sequential rate;
//  3. put in one process to watch event in another, median and p99, next to
//     etcdctl's watch (etcd's own gRPC client) seeing a bare put.
#include "backend_bench.hpp"
#include "bench_util.hpp"
#include "etcd_gateway.hpp"

#include <muster/core/backend_client.hpp>
#include <muster/core/log.hpp>
#include <muster/cpp/json_document.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

using namespace muster::core;

int main(int argc, char** argv) {
    muster::core::log::set_level(spdlog::level::warn);
    const char* url_env = std::getenv("MUSTER_TEST_ETCD_URL");
    if (!url_env) {
        std::puts("set MUSTER_TEST_ETCD_URL (scripts/etcd-start.sh DIR starts a server and writes DIR/env)");
        return 0;
    }
    std::string url = url_env, prefix = "/bench_" + std::to_string(getpid());
    double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
    PluginLoader loader;
    auto plugin = loader.load("etcd");
    std::vector<std::pair<std::string, std::string>> opts{{"endpoints", url}, {"prefix", prefix}};
    auto b = BackendClient::create(plugin, opts, 60000);
    std::vector<std::string> ids = bench::register_instances(*b, 100);
    std::printf("etcd, %.1f s per measurement\n", secs);

    bench::EtcdGateway bare(url);
    // The same document the plugin writes, so both put the same bytes.
    std::vector<muster::sdk::Instance> listed;
    b->list(nullptr, 0, listed);
    std::string key = prefix + "/querier/" + ids[0], value;
    for (const auto& i : listed)
        if (i.id == ids[0]) value = muster::sdk::encode_document(i, i.last_seen_ms);
    long n = 0;
    auto t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < secs) {
        bare.put(key, value);
        ++n;
    }
    double bare_rate = static_cast<double>(n) / bench::seconds_since(t0);
    bench::print_rates("bare put over the JSON gateway, sequential", bare_rate, bench::heartbeat_rates(*b, ids, secs),
                       "ratio batch / sequential (aim >= 5)");

    constexpr int kSamples = 200;
    // etcd's own client: a bare put seen by `etcdctl watch` (gRPC).
    std::vector<double> bare_lat;
    int out[2];
    if (pipe(out) == 0) {
        pid_t watcher = fork();
        if (watcher == 0) {
            dup2(out[1], 1);
            close(out[0]);
            setenv("ETCDCTL_API", "3", 1);
            std::string key = prefix + "/bare";
            execlp("etcdctl", "etcdctl", "--endpoints", url.c_str(), "watch", key.c_str(), nullptr);
            _exit(127);
        }
        close(out[1]);
        FILE* watch = fdopen(out[0], "r");
        std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the watch is set up
        char line[4096];
        for (int i = 0; i < kSamples; ++i) {
            auto s0 = bench::Clock::now();
            bare.put(prefix + "/bare", std::to_string(i));
            bool seen = true;
            for (int l = 0; l < 3 && seen; ++l)
                seen = std::fgets(line, sizeof line, watch) != nullptr;  // PUT, key, value
            if (!seen) break;
            bare_lat.push_back(bench::seconds_since(s0) * 1000.0);
        }
        kill(watcher, SIGTERM);
        waitpid(watcher, nullptr, 0);
        std::fclose(watch);
    }
    std::vector<double> got = bench::watch_latency_ms(plugin, opts, kSamples);
    std::printf("put in another process -> watch event, %zu of %d seen\n", got.size(), kSamples);
    bench::row("bare put -> etcdctl watch, median", bench::percentile(bare_lat, 50), "ms");
    bench::row("bare put -> etcdctl watch, p99", bench::percentile(bare_lat, 99), "ms");
    bench::row("plugin register -> watch event, median", bench::percentile(got, 50), "ms");
    bench::row("plugin register -> watch event, p99", bench::percentile(got, 99), "ms");
    b.reset();
    bare.delete_prefix(prefix + "/");
    bare.delete_prefix(prefix + ".ids/");
}
