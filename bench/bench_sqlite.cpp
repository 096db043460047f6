// catalog-sqlite against a bare sqlite3 loop in the same run:
//  1. heartbeat throughput: the plugin's heartbeat (one id per call) vs the
//     same UPDATE statement on a bare connection, one transaction each;
//  2. the batch heartbeat of 100 ids vs the sequential rate;
//  3. commit in one process to watch event in another: median and p99.
#include "bench_util.hpp"

#include <muster/core/backend_client.hpp>
#include <muster/core/registry.hpp>

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

using namespace muster::core;
namespace sdk = muster::sdk;

namespace {

std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double bare_heartbeats(const std::string& path, const std::vector<std::string>& ids, double secs) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "UPDATE instances SET last_seen = ?2 WHERE id = ?1 AND stopped_at IS NULL", -1, &st, nullptr);
    long n = 0;
    auto t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < secs) {
        sqlite3_bind_text(st, 1, ids[static_cast<std::size_t>(n) % ids.size()].c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, wall_ns() / 1000000);
        sqlite3_step(st);
        sqlite3_reset(st);
        ++n;
    }
    double rate = static_cast<double>(n) / bench::seconds_since(t0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rate;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);
    double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
    auto dir = std::filesystem::temp_directory_path() / ("muster-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::string path = (dir / "bench.db").string();
    PluginLoader loader;
    auto plugin = loader.load("catalog-sqlite");
    auto b = BackendClient::create(plugin, {{"path", path}}, 60000);
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        sdk::Instance in;
        in.id = new_instance_id();
        in.role = "querier";
        in.address = "10.0.0.1:" + std::to_string(7000 + i);
        b->register_instance(in);
        ids.push_back(in.id);
    }

    std::printf("catalog-sqlite (%s), %.1f s per measurement\n", path.c_str(), secs);
    double bare = bare_heartbeats(path, ids, secs);
    long n = 0;
    std::vector<muster_status> res;
    auto t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < secs) b->heartbeat({ids[static_cast<std::size_t>(n++) % ids.size()]}, res);
    double plugin_rate = static_cast<double>(n) / bench::seconds_since(t0);
    long batches = 0;
    t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < secs) {
        b->heartbeat(ids, res);
        ++batches;
    }
    double batch_rate = static_cast<double>(batches * 100) / bench::seconds_since(t0);
    bench::row("bare sqlite3 UPDATE, one per transaction", bare, "heartbeats/s");
    bench::row("plugin heartbeat, one id per call", plugin_rate, "heartbeats/s");
    bench::row("ratio plugin / bare (aim >= 0.9)", plugin_rate / bare, "");
    bench::row("plugin batch heartbeat, 100 ids per call", batch_rate, "heartbeats/s");
    bench::row("ratio batch / sequential (aim >= 5)", batch_rate / plugin_rate, "");

    // 3. Another process writes; this one watches. The writer puts its wall
    // clock in the metadata; the event's arrival minus it is the latency.
    constexpr int kSamples = 300;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<double> lat_ms;
    std::unique_ptr<BackendWatch> w;
    std::string role = "latency";
    b->watch(&role, [&](const BackendEvent& ev) {
        if (!ev.instance || ev.type == MUSTER_EVENT_REMOVED) return;
        auto it = ev.instance->metadata.find("t");
        if (it == ev.instance->metadata.end()) return;
        std::lock_guard lk(mu);
        lat_ms.push_back(static_cast<double>(wall_ns() - std::stoll(it->second)) / 1e6);
        cv.notify_all();
    }, w);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pid_t child = fork();
    if (child == 0) {
        auto wb = BackendClient::create(plugin, {{"path", path}}, 60000);
        sdk::Instance in;
        in.id = new_instance_id();
        in.role = role;
        in.address = "10.0.0.9:1";
        for (int i = 0; i < kSamples; ++i) {
            in.metadata["t"] = std::to_string(wall_ns());
            wb->register_instance(in);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        _exit(0);
    }
    {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::seconds(30), [&] { return lat_ms.size() >= kSamples; });
    }
    waitpid(child, nullptr, 0);
    w.reset();
    std::vector<double> lat;
    {
        std::lock_guard lk(mu);
        lat = lat_ms;
    }
    std::printf("commit in another process -> watch event, %zu of %d commits seen as events\n", lat.size(), kSamples);
    bench::row("median", bench::percentile(lat, 50), "ms");
    bench::row("p99 (aim <= 2 ms)", bench::percentile(lat, 99), "ms");
    b.reset();
    std::filesystem::remove_all(dir);
}
