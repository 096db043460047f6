// A big role read through the chain against the bare engine reading the
// same rows in the same run: 1,000, 10,000 and 100,000 instances (or the
// sizes given) on catalog-sqlite, and on catalog-postgres, nats-kv and etcd
// when MUSTER_TEST_PG_URL / MUSTER_TEST_NATS_URL / MUSTER_TEST_ETCD_URL name
// servers. The chain reads with its default 250 ms read deadline, which a
// big answer outlasts: the deadline measures silence (docs/chain.md). Median of 5 reads each, taken
// in turns with the bare engine's.
//
//   muster-bench-scale [N...]
#include "bench_util.hpp"
#include "etcd_gateway.hpp"

#include <muster/core/chain.hpp>
#include <muster/core/log.hpp>
#include <muster/core/plugin_loader.hpp>
#include <muster/core/registry.hpp>

#include <nlohmann/json.hpp>

#include <libpq-fe.h>
#include <malloc.h>
#include <nats/nats.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace muster::core;

namespace {

constexpr int kReads = 5;

// The bare engine's and muster's reads of the role, `kReads` of each taken
// in turns (so that a slow spell of this VM falls on both), timed, their
// rows checked, and the medians printed with their ratio.
void compare(const char* store, std::size_t n, const char* engine, const std::function<std::size_t()>& bare,
             const std::function<std::size_t()>& muster) {
    std::vector<double> ms[2];
    for (int i = 0; i < kReads; ++i)
        for (int which = 0; which < 2; ++which) {
            auto t0 = bench::Clock::now();
            std::size_t got = (which == 0 ? bare : muster)();
            ms[which].push_back(bench::seconds_since(t0) * 1000);
            if (got != n) std::printf("  !! %s read %zu rows, not %zu\n", which == 0 ? engine : store, got, n);
        }
    double b = bench::percentile(ms[0], 50), m = bench::percentile(ms[1], 50);
    std::printf("  %-17s %9zu  bare %9.1f ms  muster %9.1f ms  ratio %5.2f\n", store, n, b, m, m / b);
}

std::unique_ptr<Chain> chain_of(const std::shared_ptr<const LoadedPlugin>& plugin,
                                const std::vector<std::pair<std::string, std::string>>& options) {
    std::vector<Link> links{{BackendClient::prepare(plugin, options, 3600000), false}};
    auto chain = std::make_unique<Chain>(std::move(links), ChainOptions{});
    for (const auto& o : chain->open_all(std::chrono::seconds(60)))
        if (!o.ok()) throw std::runtime_error(o.message);
    return chain;
}

std::size_t muster_read(Chain& chain) {
    std::string role = "big";
    auto r = chain.list(&role, 0);
    if (!r.outcome.ok()) std::printf("  !! chain: %s\n", r.outcome.message.c_str());
    return r.instances.size();
}

// What the heap holds: small chunks in the arenas and big ones mapped on
// their own (a role's vectors past the mmap threshold).
std::size_t heap_bytes() {
    auto m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

// A watch of the big role on one backend, and registrations into it through
// another (as another process would write): the median time from a
// registration's return to its ADDED event, and the CPU the process burns
// while the watch is idle. O(change) watches give the same latency at
// every size.
void watch_figures(const char* store, const std::shared_ptr<const LoadedPlugin>& plugin,
                   const std::vector<std::pair<std::string, std::string>>& options, std::size_t n) {
    auto watcher = BackendClient::create(plugin, options, 3600000);
    auto writer = BackendClient::create(plugin, options, 3600000);
    std::mutex mu;
    std::condition_variable cv;
    bool synced = false;
    std::string expected;
    bench::Clock::time_point arrived{};
    std::unique_ptr<BackendWatch> w;
    std::string role = "big";
    const std::size_t heap_at_start = heap_bytes();
    watcher->watch(
        &role,
        [&](const BackendEvent& e) {
            std::lock_guard lk(mu);
            if (e.type == MUSTER_EVENT_SYNCED) synced = true;
            if (e.type == MUSTER_EVENT_ADDED && e.instance && e.instance->id == expected) arrived = bench::Clock::now();
            cv.notify_all();
        },
        w);
    {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::seconds(60), [&] { return synced; });
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the plugin's first list released
    const double plugin_heap = static_cast<double>(heap_bytes() - heap_at_start) / static_cast<double>(n);
    // Ten registrations through `writer`, each timed from its return to its
    // ADDED event (set in `arrived` by whichever watch is listening).
    std::vector<double> calls;  // each registration's own call, through the plugin
    auto registrations = [&](int subnet, const char* watch) {
        std::vector<double> out;
        for (int i = 0; i < 10; ++i) {
            muster::sdk::Instance in;
            in.id = new_instance_id();
            in.role = role;
            in.address = "10.255." + std::to_string(subnet) + ".1:" + std::to_string(i + 1);
            {
                std::lock_guard lk(mu);
                expected = in.id;
                arrived = {};
            }
            auto called = bench::Clock::now();
            writer->register_instance(in);
            auto t0 = bench::Clock::now();
            calls.push_back(std::chrono::duration<double, std::milli>(t0 - called).count());
            std::unique_lock lk(mu);
            if (!cv.wait_for(lk, std::chrono::seconds(10), [&] { return arrived != bench::Clock::time_point{}; })) {
                std::printf("  !! %s: registration %d never reached the %s\n", store, i, watch);
                continue;
            }
            out.push_back(std::max(0.0, std::chrono::duration<double, std::milli>(arrived - t0).count()));
        }
        return out;
    };
    std::vector<double> ms = registrations(0, "plugin's watch");
    w.reset();
    std::this_thread::sleep_for(std::chrono::seconds(1));  // what the watch held, released (cnats: by its threads)
    // The same through a Registry's cache of the role: what subscribers
    // (the agent, libmuster, `muster-host watch`) see.
    RegistryOptions ro;
    ro.ttl = std::chrono::hours(1);
    ro.heartbeat_interval = std::chrono::minutes(10);
    // The heap a watched, cached role holds (the plugin's watch state, the
    // cache's working set and its snapshot), per instance, twice: what the
    // heap grew by with the registry (its first read's answer released),
    // and what it gave back when the registry went. cnats releases memory
    // from its own threads, late: one figure can fall below the other.
    const std::size_t heap_before = heap_bytes();
    auto registry = std::make_unique<Registry>(std::make_shared<Chain>(std::vector<Link>{{watcher, true}}), ro);
    auto sub = registry->watch(role, [&](const TopologyEvent& e) {
        std::lock_guard lk(mu);
        if (e.type == MUSTER_EVENT_ADDED && e.instance.id == expected) arrived = bench::Clock::now();
        cv.notify_all();
    });
    std::vector<double> through_cache = registrations(1, "registry's watch");
    // Read once the registrations went through the watch: the cache is
    // steady, the first answer (a list through the chain) released. Read
    // on a thread of its own, whose memory of the snapshot (CacheSet's
    // thread-local one) goes with it.
    double cached = 0;
    std::thread([&] { cached = static_cast<double>(registry->resolve(role)->instances.size()); }).join();
    const double grown = static_cast<double>(heap_bytes() - heap_before) / cached;
    // Idle: from a second after the last change (its publish and the old
    // snapshot's release, a few ms at 100,000, done) for 5 s.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    double cpu0 = bench::cpu_seconds();
    auto t0 = bench::Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(5));
    double idle = (bench::cpu_seconds() - cpu0) / bench::seconds_since(t0) * 100;
    const std::size_t heap_held = heap_bytes();
    sub.cancel();
    registry.reset();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double freed = (static_cast<double>(heap_held) - static_cast<double>(heap_bytes())) / cached;
    std::printf(
        "  %-17s %9zu  register call %6.2f ms; registration -> watch event %6.2f ms (backend), %6.2f ms (registry)"
        " median; idle %5.2f%% of a core; heap per watched instance: plugin watch %5.0f B, with the registry cache"
        " %5.0f B (grown) / %5.0f B (freed)\n",
        store, n, bench::percentile(calls, 50), ms.empty() ? -1.0 : bench::percentile(ms, 50),
        through_cache.empty() ? -1.0 : bench::percentile(through_cache, 50), idle, plugin_heap, grown, freed);
}

void sqlite_scale(const PluginLoader& loader, std::size_t n) {
    auto path = std::filesystem::temp_directory_path() / ("muster-scale-" + std::to_string(getpid()) + ".db");
    auto chain = chain_of(loader.load("catalog-sqlite"), {{"path", path.string()}});  // creates the schema
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    std::string fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(n) +
                       ") INSERT INTO instances SELECT printf('%08x-0000-4000-8000-%012x', i, i), 'big', "
                       "printf('10.%d.%d.%d:80', i / 65536, (i / 256) % 256, i % 256), '{\"zone\":\"a\"}', 0, "
                       "CAST(strftime('%s','now') AS INTEGER) * 1000, CAST(strftime('%s','now') AS INTEGER) * 1000, "
                       "NULL FROM n";
    sqlite3_exec(db, fill.c_str(), nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT id, role, address, metadata, health, registered_at, last_seen, stopped_at FROM "
                       "instances WHERE role = 'big' AND stopped_at IS NULL ORDER BY id",
                       -1, &st, nullptr);
    auto bare = [&] {
        std::vector<std::vector<std::string>> rows;
        while (sqlite3_step(st) == SQLITE_ROW) {
            std::vector<std::string> row;
            for (int c = 0; c < 8; ++c) {
                auto* t = sqlite3_column_text(st, c);
                row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
            }
            rows.push_back(std::move(row));
        }
        sqlite3_reset(st);
        return rows.size();
    };
    compare("catalog-sqlite", n, "sqlite3", bare, [&] { return muster_read(*chain); });
    watch_figures("catalog-sqlite", loader.load("catalog-sqlite"), {{"path", path.string()}}, n);
    sqlite3_finalize(st);
    sqlite3_close(db);
    chain.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

void postgres_scale(const PluginLoader& loader, const std::string& url, std::size_t n) {
    std::string schema = "scale_" + std::to_string(getpid());
    auto chain = chain_of(loader.load("catalog-postgres"), {{"url", url}, {"schema", schema}});
    PGconn* c = PQconnectdb(url.c_str());
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PQclear(PQexec(c, ("INSERT INTO " + schema +
                       ".instances (id, role, address, metadata, health) SELECT ('00000000-0000-4000-8000-' || "
                       "lpad(to_hex(i), 12, '0'))::uuid, 'big', '10.0.0.1:' || (i % 60000 + 1), '{\"zone\":\"a\"}', 0 "
                       "FROM generate_series(1, " +
                       std::to_string(n) + ") i; ANALYZE " + schema + ".instances")
                          .c_str()));
    std::string select =
        "SELECT id, role, address, metadata::text, health, registered_at, last_seen, stopped_at FROM " + schema +
        ".instances WHERE role = 'big' AND stopped_at IS NULL";
    auto bare = [&] {
        PGresult* r = PQexec(c, select.c_str());
        std::vector<std::vector<std::string>> rows;
        for (int i = 0; i < PQntuples(r); ++i) {
            std::vector<std::string> row;
            for (int col = 0; col < 8; ++col) row.emplace_back(PQgetvalue(r, i, col));
            rows.push_back(std::move(row));
        }
        PQclear(r);
        return rows.size();
    };
    compare("catalog-postgres", n, "libpq", bare, [&] { return muster_read(*chain); });
    watch_figures("catalog-postgres", loader.load("catalog-postgres"), {{"url", url}, {"schema", schema}}, n);
    chain.reset();
    PQclear(PQexec(c, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
    PQfinish(c);
}

// The one instance of the big role written through the plugin: the stores
// holding documents (nats-kv, etcd) are filled with copies of its
// document under new ids (copy_of).
muster::sdk::Instance register_model(BackendClient& writer) {
    muster::sdk::Instance first;
    first.id = new_instance_id();
    first.role = "big";
    first.address = "10.0.0.1:1";
    first.metadata = {{"zone", "a"}};
    writer.register_instance(first);
    return first;
}

// `document` (the model's) as a new instance's: `id` for the model's id.
std::string copy_of(std::string document, const std::string& model_id, const std::string& id) {
    return document.replace(document.find(model_id), model_id.size(), id);
}

void nats_scale(const PluginLoader& loader, const std::string& url, std::size_t n) {
    std::string bucket = "scale_" + std::to_string(getpid()) + "_" + std::to_string(n);
    auto plugin = loader.load("nats-kv");
    auto chain = chain_of(plugin, {{"url", url}, {"bucket", bucket}});
    // One instance written through the plugin, the rest as copies of its
    // document under new ids put straight into the bucket, as a big
    // deployment leaves it (a registration through the plugin looks the id
    // up under every role: bench/README.md).
    auto writer = BackendClient::create(plugin, {{"url", url}, {"bucket", bucket}}, 3600000);
    const muster::sdk::Instance first = register_model(*writer);
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    kvStore* kv = nullptr;
    natsConnection_ConnectTo(&nc, url.c_str());
    natsConnection_JetStream(&js, nc, nullptr);
    js_KeyValue(&kv, js, bucket.c_str());
    kvEntry* model = nullptr;
    kvStore_Get(&model, kv, ("big." + first.id).c_str());
    const std::string document(static_cast<const char*>(kvEntry_Value(model)),
                               static_cast<std::size_t>(kvEntry_ValueLen(model)));
    kvEntry_Destroy(model);
    for (std::size_t i = 1; i < n; ++i) {
        const std::string id = new_instance_id(), value = copy_of(document, first.id, id);
        kvStore_Put(nullptr, kv, ("big." + id).c_str(), value.data(), static_cast<int>(value.size()));
    }
    auto bare = [&] {
        std::vector<std::string> values;
        kvWatchOptions wo;
        kvWatchOptions_Init(&wo);
        wo.IgnoreDeletes = true;
        wo.IncludeHistory = true;  // one value per key: all of them, without the last-per-key pass (as nats-kv reads)
        kvWatcher* w = nullptr;
        kvStore_Watch(&w, kv, "big.*", &wo);
        kvEntry* e = nullptr;
        while (kvWatcher_Next(&e, w, 5000) == NATS_OK && e) {
            values.emplace_back(static_cast<const char*>(kvEntry_Value(e)),
                                static_cast<std::size_t>(kvEntry_ValueLen(e)));
            kvEntry_Destroy(e);
        }
        kvWatcher_Destroy(w);
        return values.size();
    };
    compare("nats-kv", n, "cnats", bare, [&] { return muster_read(*chain); });
    watch_figures("nats-kv", plugin, {{"url", url}, {"bucket", bucket}}, n);
    js_DeleteKeyValue(js, bucket.c_str());
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

void etcd_scale(const PluginLoader& loader, const std::string& url, std::size_t n) {
    const std::string prefix = "/scale_" + std::to_string(getpid()) + "_" + std::to_string(n);
    const std::vector<std::pair<std::string, std::string>> options{{"endpoints", url}, {"prefix", prefix}};
    auto plugin = loader.load("etcd");
    auto chain = chain_of(plugin, options);
    // One instance written through the plugin, the rest as copies of its
    // document under new ids put straight into etcd, 128 to a transaction
    // (etcd's --max-txn-ops), as nats_scale does.
    auto writer = BackendClient::create(plugin, options, 3600000);
    const muster::sdk::Instance first = register_model(*writer);
    bench::EtcdGateway gw(url);
    const std::string role_prefix = prefix + "/big/";
    const auto stored =
        nlohmann::json::parse(gw.post("/v3/kv/range", "{\"key\":\"" + bench::b64(role_prefix + first.id) + "\"}"));
    const std::string document = bench::unb64(stored["kvs"][0]["value"].get<std::string>());
    for (std::size_t i = 1; i < n;) {
        nlohmann::json puts = nlohmann::json::array();
        for (; i < n && puts.size() < 128; ++i) {
            const std::string id = new_instance_id(), value = copy_of(document, first.id, id);
            puts.push_back({{"request_put", {{"key", bench::b64(role_prefix + id)}, {"value", bench::b64(value)}}}});
        }
        gw.post("/v3/kv/txn", nlohmann::json{{"success", puts}}.dump());
    }
    // The bare read: the role's range in one request, every key and value
    // decoded.
    std::string end = role_prefix;
    ++end.back();
    const std::string range = "{\"key\":\"" + bench::b64(role_prefix) + "\",\"range_end\":\"" + bench::b64(end) + "\"}";
    auto bare = [&] {
        auto answer = nlohmann::json::parse(gw.post("/v3/kv/range", range));
        std::vector<std::pair<std::string, std::string>> rows;
        for (const auto& kv : answer.value("kvs", nlohmann::json::array()))
            rows.emplace_back(bench::unb64(kv["key"].get<std::string>()), bench::unb64(kv["value"].get<std::string>()));
        return rows.size();
    };
    compare("etcd", n, "etcd gateway", bare, [&] { return muster_read(*chain); });
    watch_figures("etcd", plugin, options, n);
    chain.reset();
    writer.reset();
    gw.delete_prefix(prefix + "/");
    gw.delete_prefix(prefix + ".ids/");
}

// Runs `measure` in a child process of its own and waits for it: each
// store and size starts from a fresh heap and no threads or libraries left
// by the ones before (a process that had run the other stores first read
// catalog-sqlite's 10,000 up to 2x slower, and idled busier).
void in_own_process(const std::function<void()>& measure) {
    std::fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        measure();
        std::fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        std::printf("  !! a measurement ended with status %d\n", status);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::size_t> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
    if (sizes.empty()) sizes = {1000, 10000, 100000};
    const char* pg = std::getenv("MUSTER_TEST_PG_URL");
    const char* nats = std::getenv("MUSTER_TEST_NATS_URL");
    const char* etcd = std::getenv("MUSTER_TEST_ETCD_URL");
    std::printf(
        "one role read whole, through the chain (read deadline 250 ms) vs the bare engine; median of %d each, in "
        "turns; each store and size in a process of its own\n",
        kReads);
    // Nothing here starts a thread: a child of a threaded process may
    // inherit a lock another thread held.
    auto each = [](auto scale, auto... args) {
        in_own_process([&] {
            log::set_level(spdlog::level::warn);
            PluginLoader loader;
            scale(loader, args...);
        });
    };
    for (auto n : sizes) {
        each(sqlite_scale, n);
        if (pg) each(postgres_scale, std::string(pg), n);
        if (nats) each(nats_scale, std::string(nats), n);
        if (etcd) each(etcd_scale, std::string(etcd), n);
    }
    if (!pg) std::puts("  (catalog-postgres: set MUSTER_TEST_PG_URL)");
    if (!nats) std::puts("  (nats-kv: set MUSTER_TEST_NATS_URL)");
    if (!etcd) std::puts("  (etcd: set MUSTER_TEST_ETCD_URL)");
}
