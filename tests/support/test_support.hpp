// Helpers shared by the test programs: environment lookups, running the
// server-control commands scripts/*-start.sh write, waiting for a
// condition, and recording topology events.
#pragma once

#include "eventually.hpp"

#include <muster/core/log.hpp>
#include <muster/core/registry.hpp>
#include <muster/core/role_cache.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

// The core logs each registration at info: the test programs keep its
// warnings and errors (set once, before main).
inline const bool quiet_log = (muster::core::log::set_level(spdlog::level::warn), true);

inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// Runs the shell command held by environment variable `name` (e.g.
// MUSTER_TEST_PG_RESTART); the test fails if it is unset or fails.
inline void run_env_command(const char* name) {
    std::string cmd = env(name);
    REQUIRE_FALSE(cmd.empty());
    REQUIRE(std::system((cmd + " >/dev/null 2>&1").c_str()) == 0);
}

// Registry options on a test's time scale: heartbeat, ttl and how often the
// cache polls or verifies.
inline muster::core::RegistryOptions quick_options(std::chrono::milliseconds heartbeat, std::chrono::milliseconds ttl,
                                                   std::chrono::milliseconds refresh) {
    muster::core::RegistryOptions o;
    o.heartbeat_interval = heartbeat;
    o.ttl = ttl;
    o.cache_refresh = refresh;
    return o;
}

// The registry's timing in the unit tests: a 200 ms heartbeat, a 1 s ttl,
// the cache refreshed every 100 ms.
inline muster::core::RegistryOptions fast_options() {
    using namespace std::chrono_literals;
    return quick_options(200ms, 1000ms, 100ms);
}

// A fresh store of the bundled memory plugin, swept every 100 ms.
inline std::shared_ptr<muster::core::BackendClient> memory_backend(std::int64_t ttl_ms = 1000) {
    static muster::core::PluginLoader loader;
    return muster::core::BackendClient::create(loader.load("memory"), {{"sweep", "100ms"}}, ttl_ms);
}

// Collects the events of a Registry::watch subscription.
struct Events {
    std::mutex mu;
    std::vector<muster::core::TopologyEvent> all;
    muster::core::TopologyCallback cb() {
        return [this](const muster::core::TopologyEvent& e) {
            std::lock_guard lk(mu);
            all.push_back(e);
        };
    }
    std::size_t count(muster_event_type t, const std::string& id = {}) {
        std::lock_guard lk(mu);
        std::size_t n = 0;
        for (auto& e : all) n += e.type == t && (id.empty() || e.instance.id == id);
        return n;
    }
};

}  // namespace test_support
