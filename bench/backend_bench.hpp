// What every backend benchmark measures the same way: registering a role of
// instances, heartbeat throughput one id at a time and in batches, and the
// cross-process watch latency (a watch here, a writer process that
// re-registers one instance with its wall clock in the metadata, and the
// event's arrival minus it).
#pragma once

#include "bench_util.hpp"

#include <muster/core/backend_client.hpp>
#include <muster/core/registry.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

// Registers `n` instances of role "querier"; returns their ids.
inline std::vector<std::string> register_instances(muster::core::BackendClient& b, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
        muster::sdk::Instance in;
        in.id = muster::core::new_instance_id();
        in.role = "querier";
        in.address = "10.0.0.1:" + std::to_string(7000 + i);
        b.register_instance(in);
        ids.push_back(in.id);
    }
    return ids;
}

struct HeartbeatRates {
    double sequential = 0;  // heartbeats/s, one id per call
    double batch = 0;       // heartbeats/s, all ids per call
};

// Heartbeats through the plugin for `secs` each way.
inline HeartbeatRates heartbeat_rates(muster::core::BackendClient& b, const std::vector<std::string>& ids,
                                      double secs) {
    HeartbeatRates r;
    std::vector<muster_status> res;
    long n = 0;
    auto t0 = Clock::now();
    while (seconds_since(t0) < secs) b.heartbeat({ids[static_cast<std::size_t>(n++) % ids.size()]}, res);
    r.sequential = static_cast<double>(n) / seconds_since(t0);
    long batches = 0;
    t0 = Clock::now();
    while (seconds_since(t0) < secs) {
        b.heartbeat(ids, res);
        ++batches;
    }
    r.batch = static_cast<double>(batches) * static_cast<double>(ids.size()) / seconds_since(t0);
    return r;
}

// Prints the throughput rows, with the ratios and their aims.
inline void print_rates(const char* bare_what, double bare, const HeartbeatRates& r, const char* batch_aim) {
    row(bare_what, bare, "heartbeats/s");
    row("plugin heartbeat, one id per call", r.sequential, "heartbeats/s");
    row("ratio plugin / bare (aim >= 0.9)", r.sequential / bare, "");
    row("plugin batch heartbeat, 100 ids per call", r.batch, "heartbeats/s");
    row(batch_aim, r.batch / r.sequential, "");
}

inline std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Milliseconds from each register in the writer process to its event here.
inline std::vector<double> watch_latency_ms(std::shared_ptr<const muster::core::LoadedPlugin> plugin,
                                            const std::vector<std::pair<std::string, std::string>>& options,
                                            int samples) {
    using namespace muster::core;
    auto watcher = BackendClient::create(plugin, options, 60000);
    std::mutex mu;
    std::condition_variable cv;
    std::vector<double> lat;
    std::unique_ptr<BackendWatch> w;
    std::string role = "latency";
    watcher->watch(
        &role,
        [&](const BackendEvent& ev) {
            if (!ev.instance || ev.type == MUSTER_EVENT_REMOVED) return;
            auto it = ev.instance->metadata.find("t");
            if (it == ev.instance->metadata.end()) return;
            std::lock_guard lk(mu);
            lat.push_back(static_cast<double>(wall_ns() - std::stoll(it->second)) / 1e6);
            cv.notify_all();
        },
        w);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the watch's initial sync
    pid_t child = fork();
    if (child == 0) {
        auto writer = BackendClient::create(plugin, options, 60000);
        muster::sdk::Instance in;
        in.id = new_instance_id();
        in.role = role;
        in.address = "10.0.0.9:1";
        for (int i = 0; i < samples; ++i) {
            in.metadata["t"] = std::to_string(wall_ns());
            writer->register_instance(in);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        _exit(0);
    }
    {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::seconds(30), [&] { return lat.size() >= static_cast<std::size_t>(samples); });
    }
    waitpid(child, nullptr, 0);
    w.reset();
    std::lock_guard lk(mu);
    return lat;
}

}  // namespace bench
