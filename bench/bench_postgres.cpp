// catalog-postgres against a bare libpq loop in the same run, on the server
// named by MUSTER_TEST_PG_URL (scripts/pg-start.sh starts one):
//  1. heartbeat throughput: the plugin (one id per call) vs the same
//     prepared UPDATE over bare libpq;
//  2. the batch heartbeat of 100 ids vs the sequential rate;
//  3. register in one process to watch event in another: median and p99,
//     next to the bare trigger NOTIFY -> LISTEN round on the same server.
#include "backend_bench.hpp"
#include "bench_util.hpp"

#include <muster/core/backend_client.hpp>
#include <muster/core/registry.hpp>

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>
#include <muster/core/log.hpp>

#include <thread>

using namespace muster::core;
namespace sdk = muster::sdk;

namespace {

PGconn* connect(const std::string& url) {
    PGconn* c = PQconnectdb(url.c_str());
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    if (PQstatus(c) != CONNECTION_OK) {
        std::fprintf(stderr, "bench: cannot connect: %s", PQerrorMessage(c));
        std::exit(1);
    }
    return c;
}

double bare_heartbeats(const std::string& url, const std::string& schema, const std::vector<std::string>& ids,
                       double secs) {
    PGconn* c = connect(url);
    std::string sql =
        "UPDATE \"" + schema + "\".instances SET last_seen = now() WHERE id = $1::uuid AND stopped_at IS NULL";
    PQclear(PQprepare(c, "hb", sql.c_str(), 1, nullptr));
    long n = 0;
    auto t0 = bench::Clock::now();
    while (bench::seconds_since(t0) < secs) {
        const char* p[] = {ids[static_cast<std::size_t>(n++) % ids.size()].c_str()};
        PQclear(PQexecPrepared(c, "hb", 1, p, nullptr, nullptr, 0));
    }
    double rate = static_cast<double>(n) / bench::seconds_since(t0);
    PQfinish(c);
    return rate;
}

// The bare engine's round: a trigger NOTIFY seen by a LISTEN connection.
std::vector<double> bare_notify_latency(const std::string& url, const std::string& schema, int samples) {
    PGconn* listen = connect(url);
    PGconn* write = connect(url);
    std::string channel = "muster_" + schema;
    PQclear(PQexec(listen, ("LISTEN \"" + channel + "\"").c_str()));
    std::string sql = "UPDATE \"" + schema + "\".instances SET address = $2 WHERE id = $1::uuid";
    PQclear(PQprepare(write, "touch", sql.c_str(), 2, nullptr));
    PGresult* r = PQexec(write, ("SELECT id FROM \"" + schema + "\".instances LIMIT 1").c_str());
    std::string id = PQgetvalue(r, 0, 0);
    PQclear(r);
    std::vector<double> out;
    for (int i = 0; i < samples; ++i) {
        std::string addr = "10.9.9.9:" + std::to_string(1000 + i);
        const char* p[] = {id.c_str(), addr.c_str()};
        auto t0 = bench::Clock::now();
        PQclear(PQexecPrepared(write, "touch", 2, p, nullptr, nullptr, 0));
        for (bool got = false; !got;) {
            pollfd f{PQsocket(listen), POLLIN, 0};
            poll(&f, 1, 1000);
            PQconsumeInput(listen);
            while (PGnotify* n = PQnotifies(listen)) {
                got = true;
                PQfreemem(n);
            }
        }
        out.push_back(bench::seconds_since(t0) * 1000.0);
    }
    PQfinish(listen);
    PQfinish(write);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    muster::core::log::set_level(spdlog::level::warn);
    const char* url_env = std::getenv("MUSTER_TEST_PG_URL");
    if (!url_env) {
        std::puts("set MUSTER_TEST_PG_URL (scripts/pg-start.sh DIR starts a server and writes DIR/env)");
        return 0;
    }
    std::string url = url_env, schema = "bench_" + std::to_string(getpid());
    double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
    PluginLoader loader;
    auto plugin = loader.load("catalog-postgres");
    std::vector<std::pair<std::string, std::string>> opts{{"url", url}, {"schema", schema}};
    auto b = BackendClient::create(plugin, opts, 60000);
    std::vector<std::string> ids = bench::register_instances(*b, 100);
    std::printf("catalog-postgres, %.1f s per measurement\n", secs);
    double bare = bare_heartbeats(url, schema, ids, secs);
    bench::print_rates("bare libpq prepared UPDATE, one per round trip", bare, bench::heartbeat_rates(*b, ids, secs),
                       "ratio batch / sequential (aim >= 10)");

    constexpr int kSamples = 300;
    auto bare_lat = bare_notify_latency(url, schema, kSamples);
    std::vector<double> got = bench::watch_latency_ms(plugin, opts, kSamples);
    std::printf("register in another process -> watch event, %zu of %d seen\n", got.size(), kSamples);
    bench::row("bare trigger NOTIFY -> LISTEN, median", bench::percentile(bare_lat, 50), "ms");
    bench::row("bare trigger NOTIFY -> LISTEN, p99", bench::percentile(bare_lat, 99), "ms");
    bench::row("plugin register -> watch event, median", bench::percentile(got, 50), "ms");
    bench::row("plugin register -> watch event, p99 (aim <= 1 ms)", bench::percentile(got, 99), "ms");
    b.reset();
    PGconn* c = connect(url);
    PQclear(PQexec(c, ("DROP SCHEMA \"" + schema + "\" CASCADE").c_str()));
    PQfinish(c);
}
