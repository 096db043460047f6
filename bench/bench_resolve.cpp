// resolve(role) from the cache: 100 instances in the role, two reader
// threads, while a writer changes the role through a watch. Prints the
// median nanoseconds per call over batches.
#include "bench_util.hpp"

#include <muster/core/registry.hpp>

#include <muster/core/log.hpp>

#include <atomic>
#include <thread>

using namespace muster::core;
namespace sdk = muster::sdk;

int main() {
    muster::core::log::set_level(spdlog::level::warn);
    PluginLoader loader;
    auto backend = BackendClient::create(loader.load("memory"), {{"sweep", "100ms"}}, 30000);
    auto chain = std::make_shared<Chain>(std::vector<Link>{{backend, true}});
    RegistryOptions opt;
    opt.heartbeat_interval = std::chrono::seconds(5);
    Registry registry(chain, opt);
    std::vector<Registration> regs;
    for (int i = 0; i < 100; ++i)
        regs.push_back(registry.register_instance({"querier", "10.0.0.1:" + std::to_string(7000 + i), "", {}, {}, {}}));
    auto sub = registry.watch(std::string("querier"), [](const TopologyEvent&) {});
    while (registry.resolve("querier")->instances.size() != 100)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));

    std::atomic<bool> stop{false};
    std::atomic<long> updates{0};
    std::thread writer([&] {  // a topology change every millisecond
        for (int i = 0; !stop; ++i) {
            sdk::Instance in;
            in.id = regs[static_cast<std::size_t>(i % 100)].id();
            in.role = "querier";
            in.address = "10.0.0.2:" + std::to_string(7000 + i % 1000);
            backend->register_instance(in);
            ++updates;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
    constexpr int kBatch = 10000, kBatches = 200;
    std::vector<double> per_call[2];
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t)
        readers.emplace_back([&, t] {
            std::size_t sink = 0;
            for (int b = 0; b < kBatches; ++b) {
                auto t0 = bench::Clock::now();
                for (int i = 0; i < kBatch; ++i) sink += registry.resolve("querier")->instances.size();
                per_call[t].push_back(bench::seconds_since(t0) * 1e9 / kBatch);
            }
            if (sink == 0) std::puts("");
        });
    for (auto& r : readers) r.join();
    stop = true;
    writer.join();
    std::vector<double> all = per_call[0];
    all.insert(all.end(), per_call[1].begin(), per_call[1].end());
    std::printf("resolve(role) from the cache, 100 instances, 2 readers, %ld watch updates during the run\n",
                updates.load());
    bench::row("median per call", bench::percentile(all, 50), "ns");
    bench::row("p99 of batch means", bench::percentile(all, 99), "ns");
}
