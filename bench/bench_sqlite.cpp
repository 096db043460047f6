// catalog-sqlite against a bare sqlite3 loop in the same run:
//  1. heartbeat throughput: the plugin's heartbeat (one id per call) vs the
//     same UPDATE statement on a bare connection, one transaction each;
//  2. the batch heartbeat of 100 ids vs the sequential rate;
//  3. commit in one process to watch event in another: median and p99.
#include "backend_bench.hpp"
#include "bench_util.hpp"

#include <muster/core/backend_client.hpp>
#include <muster/core/registry.hpp>

#include <sqlite3.h>
#include <unistd.h>
#include <muster/core/log.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

using namespace muster::core;
namespace sdk = muster::sdk;

namespace {

double bare_heartbeats(const std::string& path, const std::vector<std::string>& ids, double secs) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "UPDATE instances SET last_seen = ?2 WHERE id = ?1 AND stopped_at IS NULL", -1, &st,
                       nullptr);
    long n = 0;
    auto t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < secs) {
        sqlite3_bind_text(st, 1, ids[static_cast<std::size_t>(n) % ids.size()].c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, bench::wall_ns() / 1000000);
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
    muster::core::log::set_level(spdlog::level::warn);
    double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
    auto dir = std::filesystem::temp_directory_path() / ("muster-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::string path = (dir / "bench.db").string();
    PluginLoader loader;
    auto plugin = loader.load("catalog-sqlite");
    auto b = BackendClient::create(plugin, {{"path", path}}, 60000);
    std::vector<std::string> ids = bench::register_instances(*b, 100);

    std::printf("catalog-sqlite (%s), %.1f s per measurement\n", path.c_str(), secs);
    double bare = bare_heartbeats(path, ids, secs);
    bench::print_rates("bare sqlite3 UPDATE, one per transaction", bare, bench::heartbeat_rates(*b, ids, secs),
                       "ratio batch / sequential (aim >= 5)");

    // 3. Another process writes; this one watches.
    constexpr int kSamples = 300;
    std::vector<double> lat = bench::watch_latency_ms(plugin, {{"path", path}}, kSamples);
    std::printf("commit in another process -> watch event, %zu of %d commits seen as events\n", lat.size(), kSamples);
    bench::row("median", bench::percentile(lat, 50), "ms");
    bench::row("p99 (aim <= 2 ms)", bench::percentile(lat, 99), "ms");
    b.reset();
    std::filesystem::remove_all(dir);
}
