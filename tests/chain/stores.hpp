// The three real stores of the chain tests on fresh names (a NATS bucket, a
// PostgreSQL schema, a SQLite file), the clients to read each directly, and
// peers: other clients of the same stores, as another process would have.
#pragma once

#include <muster/core/registry.hpp>

#include "../support/test_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

namespace chain_test {

constexpr std::int64_t kTtlMs = 3000;

struct Stores {
    // quick: the plugins' own timeouts cut to 250 ms, as the scripted fault
    // tests use them; otherwise each plugin's defaults (a 2 s NATS request,
    // a 5 s statement), so that only the chain's deadlines protect.
    explicit Stores(bool quick = true, std::string tag_ = {})
            : tag(tag_.empty() ? "f" + std::to_string(getpid()) + "_" + std::to_string(std::rand() % 100000) : tag_),
              sqlite(std::filesystem::temp_directory_path() / (tag + ".db")),
              owner(tag_.empty()) {
        using test_support::env;
        static muster::core::PluginLoader loader;
        std::vector<std::pair<std::string, std::string>> n{{"url", env("MUSTER_TEST_NATS_URL")}, {"bucket", tag}},
            p{{"url", env("MUSTER_TEST_PG_URL")}, {"schema", tag}}, l{{"path", sqlite.string()}};
        if (quick) {
            n.insert(n.end(), {{"request_timeout", "250ms"}, {"sweep", "300ms"}});
            p.insert(p.end(), {{"statement_timeout", "250ms"}, {"connect_timeout", "2s"}, {"poll", "300ms"}});
            l.push_back({"poll", "300ms"});
        }
        nats = muster::core::BackendClient::prepare(loader.load("nats-kv"), n, kTtlMs);
        pg = muster::core::BackendClient::prepare(loader.load("catalog-postgres"), p, kTtlMs);
        lite = muster::core::BackendClient::prepare(loader.load("catalog-sqlite"), l, kTtlMs);
    }
    ~Stores() {
        nats.reset();
        pg.reset();
        lite.reset();
        if (owner) {
            set_sqlite_writable(true);
            for (auto ext : {"", "-wal", "-shm"}) std::filesystem::remove(sqlite.string() + ext);
        }
    }
    Stores(const Stores&) = delete;
    Stores& operator=(const Stores&) = delete;

    // Other clients of the same stores, as another process has them.
    std::unique_ptr<Stores> peer(bool quick) const { return std::make_unique<Stores>(quick, tag); }

    // The SQLite fault: the database and its WAL made immutable (chattr +i),
    // so every write through the plugin's open handles fails with an I/O
    // error while reads go on. (As root, chmod would not stop a write.)
    bool set_sqlite_writable(bool writable) const {
        std::string cmd = std::string("chattr ") + (writable ? "-i " : "+i ") + sqlite.string() + " " +
                          sqlite.string() + "-wal >/dev/null 2>&1";
        return std::system(cmd.c_str()) == 0;
    }

    // The live ids of `role` in one store; nullopt when it did not answer.
    static std::optional<std::set<std::string>> ids(muster::core::BackendClient& b, const std::string& role) {
        std::vector<muster::sdk::Instance> out;
        if (!b.list(&role, 0, out).ok()) return std::nullopt;
        std::set<std::string> s;
        for (auto& i : out) s.insert(i.id);
        return s;
    }

    std::string tag;
    std::filesystem::path sqlite;
    std::shared_ptr<muster::core::BackendClient> nats, pg, lite;

private:
    bool owner;
};

}  // namespace chain_test
