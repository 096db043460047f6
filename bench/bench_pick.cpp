// Client-side routing: pick() per policy with two threads next to
// resolve() in the same run (median and p99 of batches, ns per call); the
// picks an always-failing instance gets before it is ejected (default
// outlier settings); the share of keys Maglev moves when one of 10
// instances leaves.
#include "bench_util.hpp"

#include <muster/core/registry.hpp>

#include <muster/core/log.hpp>

#include <map>
#include <thread>

using namespace muster::core;
using namespace std::chrono_literals;

namespace {

// ns per call of `f`, per batch, over two threads.
template <class F>
std::vector<double> two_threads(F f) {
    constexpr int kBatch = 10000, kBatches = 100;
    std::vector<double> per_call[2];
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
        threads.emplace_back([&, t] {
            for (int b = 0; b < kBatches; ++b) {
                auto t0 = bench::Clock::now();
                for (int i = 0; i < kBatch; ++i) f();
                per_call[t].push_back(bench::seconds_since(t0) * 1e9 / kBatch);
            }
        });
    for (auto& t : threads) t.join();
    per_call[0].insert(per_call[0].end(), per_call[1].begin(), per_call[1].end());
    return per_call[0];
}

}  // namespace

int main() {
    muster::core::log::set_level(spdlog::level::err);
    PluginLoader loader;
    RegistryOptions opt;
    opt.heartbeat_interval = 5s;
    Registry registry(
        std::make_shared<Chain>(std::vector<Link>{{BackendClient::create(loader.load("memory"), {}, 30000), true}}),
        opt);
    std::vector<Registration> regs;
    for (int i = 0; i < 100; ++i)
        regs.push_back(registry.register_instance({"querier", "10.0.0.1:" + std::to_string(7000 + i), "", {}, {}, {}}));
    while (registry.resolve("querier")->instances.size() != 100) std::this_thread::sleep_for(5ms);

    std::printf("pick() vs resolve(), 100 instances, 2 threads, ns per call\n");
    auto res = two_threads([&] { (void)registry.resolve("querier")->instances.size(); });
    double r50 = bench::percentile(res, 50);
    bench::row("resolve, median", r50, "ns");
    bench::row("resolve, p99", bench::percentile(res, 99), "ns");
    for (auto policy : {PickPolicy::round_robin, PickPolicy::random, PickPolicy::least_outstanding,
                        PickPolicy::weighted, PickPolicy::maglev}) {
        PickerOptions o;
        o.policy = policy;
        auto picker = registry.picker("querier", o);
        thread_local int n = 0;
        auto v = two_threads([&] {
            auto c = picker->pick(policy == PickPolicy::maglev ? std::string_view("user-42") : std::string_view());
            n += c ? 1 : 0;
        });
        double p50 = bench::percentile(v, 50);
        std::string name = policy_name(policy);
        bench::row((name + ", median (ratio to resolve: " + std::to_string(p50 / r50).substr(0, 4) + "x)").c_str(), p50,
                   "ns");
        bench::row((name + ", p99").c_str(), bench::percentile(v, 99), "ns");
    }

    {  // an instance that always fails, default outlier settings
        auto picker = registry.picker("querier");
        std::string bad = registry.resolve("querier")->instances[17].address;
        int picks_of_bad = 0;
        for (int i = 0; i < 10000; ++i) {
            auto c = picker->pick();
            if (c.instance().address == bad) {
                ++picks_of_bad;
                c.failure();
            } else {
                c.success();
            }
        }
        std::printf("an always-failing instance among 100, 10,000 round-robin picks, default outlier settings\n");
        bench::row("picks it got (ejected after 5 consecutive failures)", picks_of_bad, "");
    }

    {  // Maglev: one of 10 leaves
        std::vector<Registration> ten;
        for (int i = 0; i < 10; ++i)
            ten.push_back(
                registry.register_instance({"cache", "10.0.1.1:" + std::to_string(8000 + i), "", {}, {}, {}}));
        while (registry.resolve("cache")->instances.size() != 10) std::this_thread::sleep_for(5ms);
        PickerOptions o;
        o.policy = PickPolicy::maglev;
        auto picker = registry.picker("cache", o);
        std::map<std::string, std::string> before;
        for (int k = 0; k < 100000; ++k) {
            std::string key = "user-" + std::to_string(k);
            before[key] = picker->pick(key).instance().address;
        }
        ten[4].stop();
        while (registry.resolve("cache")->instances.size() != 9) std::this_thread::sleep_for(5ms);
        int moved = 0;
        for (const auto& [key, addr] : before) moved += picker->pick(key).instance().address != addr;
        std::printf("maglev, 100,000 keys over 10 instances, one leaves\n");
        bench::row("share of keys moved (ideal 1/10 = 0.100)", static_cast<double>(moved) / 100000.0, "");
    }
}
