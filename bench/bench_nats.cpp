// nats-kv against a bare cnats loop in the same run, on the server named by
// MUSTER_TEST_NATS_URL (scripts/nats-start.sh starts one):
//  1. heartbeat throughput: the plugin (one id per call) vs the same
//     kvStore_Put over bare cnats;
//  2. the batch heartbeat of 100 ids vs the sequential rate;
//  3. put in one process to watch event in another, median and p99, next to
//     a bare KV watcher seeing a bare put.
#include "backend_bench.hpp"
#include "bench_util.hpp"

#include <muster/core/backend_client.hpp>
#include <muster/core/registry.hpp>

#include <nats/nats.h>
#include <unistd.h>
#include <muster/core/log.hpp>

#include <thread>

using namespace muster::core;
namespace sdk = muster::sdk;

namespace {

struct Bare {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    kvStore* kv = nullptr;
    Bare(const std::string& url, const std::string& bucket) {
        natsConnection_ConnectTo(&nc, url.c_str());
        natsConnection_JetStream(&js, nc, nullptr);
        js_KeyValue(&kv, js, bucket.c_str());
    }
    ~Bare() {
        kvStore_Destroy(kv);
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }
};

}  // namespace

int main(int argc, char** argv) {
    muster::core::log::set_level(spdlog::level::warn);
    const char* url_env = std::getenv("MUSTER_TEST_NATS_URL");
    if (!url_env) {
        std::puts("set MUSTER_TEST_NATS_URL (scripts/nats-start.sh DIR starts a server and writes DIR/env)");
        return 0;
    }
    std::string url = url_env, bucket = "bench_" + std::to_string(getpid());
    double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
    PluginLoader loader;
    auto plugin = loader.load("nats-kv");
    std::vector<std::pair<std::string, std::string>> opts{{"url", url}, {"bucket", bucket}};
    auto b = BackendClient::create(plugin, opts, 60000);
    std::vector<std::string> ids = bench::register_instances(*b, 100);
    std::vector<std::string> keys, values;
    for (const auto& id : ids) keys.push_back("querier." + id);
    std::printf("nats-kv, %.1f s per measurement\n", secs);
    Bare bare(url, bucket);
    {
        // The same document the plugin writes, so both put the same bytes.
        kvEntry* e = nullptr;
        kvStore_Get(&e, bare.kv, keys[0].c_str());
        values.assign(
            1, std::string(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e))));
        kvEntry_Destroy(e);
    }
    long n = 0;
    auto t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < secs) {
        std::uint64_t rev = 0;
        kvStore_Put(&rev, bare.kv, keys[0].c_str(), values[0].data(), static_cast<int>(values[0].size()));
        ++n;
    }
    double bare_rate = static_cast<double>(n) / bench::seconds_since(t0);
    bench::print_rates("bare cnats kvStore_Put, sequential", bare_rate, bench::heartbeat_rates(*b, ids, secs),
                       "ratio batch / sequential (aim >= 5)");

    constexpr int kSamples = 300;
    // The bare engine's round: a put seen by a KV watcher of another connection.
    std::vector<double> bare_lat;
    {
        Bare watcher_conn(url, bucket);
        kvWatcher* w = nullptr;
        kvStore_Watch(&w, watcher_conn.kv, "bare.*", nullptr);
        kvEntry* e = nullptr;
        while (kvWatcher_Next(&e, w, 1000) == NATS_OK && e) kvEntry_Destroy(e);  // initial values
        for (int i = 0; i < kSamples; ++i) {
            std::string v = std::to_string(i);
            auto s0 = bench::Clock::now();
            std::uint64_t rev = 0;
            kvStore_PutString(&rev, bare.kv, "bare.key", v.c_str());
            if (kvWatcher_Next(&e, w, 1000) == NATS_OK && e) {
                bare_lat.push_back(bench::seconds_since(s0) * 1000.0);
                kvEntry_Destroy(e);
            }
        }
        kvWatcher_Destroy(w);
    }
    std::vector<double> got = bench::watch_latency_ms(plugin, opts, kSamples);
    std::printf("put in another process -> watch event, %zu of %d seen\n", got.size(), kSamples);
    bench::row("bare put -> KV watcher, median", bench::percentile(bare_lat, 50), "ms");
    bench::row("bare put -> KV watcher, p99", bench::percentile(bare_lat, 99), "ms");
    bench::row("plugin register -> watch event, median", bench::percentile(got, 50), "ms");
    bench::row("plugin register -> watch event, p99 (aim <= 1 ms)", bench::percentile(got, 99), "ms");
    b.reset();
    js_DeleteKeyValue(bare.js, bucket.c_str());
}
