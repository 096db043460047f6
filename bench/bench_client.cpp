// resolve() of a role with 10 instances through libmuster's C API
// (muster_resolve + muster_snapshot_free: the snapshot is copied into C
// structs) next to the in-tree C++ Registry::resolve, in the same run, one
// thread, memory backend. bench/embedding.sh runs the Python and Rust
// bindings' equivalents beside it and prints the ratios.
#include "bench_util.hpp"

#include <muster/client.h>
#include <muster/core/registry.hpp>

#include <muster/core/log.hpp>

#include <string>
#include <thread>

using namespace muster::core;

namespace {

constexpr int kInstances = 10, kBatch = 2000, kBatches = 200;

template <class F>
double median_ns(F resolve_once) {
    std::vector<double> per_call;
    for (int b = 0; b < kBatches; ++b) {
        auto t0 = bench::Clock::now();
        for (int i = 0; i < kBatch; ++i) resolve_once();
        per_call.push_back(bench::seconds_since(t0) * 1e9 / kBatch);
    }
    return bench::percentile(per_call, 50);
}

}  // namespace

int main() {
    muster::core::log::set_level(spdlog::level::warn);
    PluginLoader loader;
    Registry registry(
        std::make_shared<Chain>(std::vector<Link>{{BackendClient::create(loader.load("memory"), {}, 30000), true}}),
        {});
    std::vector<Registration> regs;
    for (int i = 0; i < kInstances; ++i)
        regs.push_back(registry.register_instance({"router", "10.0.0.1:" + std::to_string(7000 + i), "", {}, {}, {}}));
    std::size_t sink = 0;
    double cpp = median_ns([&] { sink += registry.resolve("router")->instances.size(); });

    muster_kv settings[] = {{"chain", "memory"}, {"log-level", "warn"}};
    muster_client_config config{sizeof config, 0, nullptr, nullptr, settings, 2};
    muster_error err{};
    muster_client* client = nullptr;
    if (muster_client_open(&config, &client, &err) != MUSTER_OK) {
        std::fprintf(stderr, "muster-bench-client: %s\n", err.message);
        return 1;
    }
    std::vector<muster_registration*> c_regs;
    for (int i = 0; i < kInstances; ++i) {
        std::string address = "10.0.0.1:" + std::to_string(7000 + i);
        muster_service s{sizeof s, 0, "router", address.c_str(), nullptr, nullptr, 0, nullptr, 0, nullptr, 0};
        c_regs.push_back(nullptr);
        if (muster_register(client, &s, &c_regs.back(), &err) != MUSTER_OK) return 1;
    }
    double c_api = median_ns([&] {
        muster_snapshot* s = nullptr;
        muster_resolve(client, "router", &s, &err);
        sink += s->count;
        muster_snapshot_free(s);
    });
    for (auto* r : c_regs) muster_deregister(r, nullptr);
    muster_client_close(client);

    std::printf("resolve(), %d instances, one thread, ns per call (median of %d batches of %d)\n", kInstances, kBatches,
                kBatch);
    bench::row("C++ Registry::resolve", cpp, "ns");
    bench::row("C API muster_resolve + muster_snapshot_free", c_api, "ns");
    std::printf("  ratio C API / C++: %.2fx\n", c_api / cpp);
    if (sink == 0) std::puts("");
    return 0;
}
