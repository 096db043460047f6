#include "suite.hpp"

#include <muster/core/registry.hpp>

#include <algorithm>
#include <random>
#include <thread>

namespace conformance {

std::vector<Rule>& rules() {
    static std::vector<Rule> all;
    return all;
}

std::shared_ptr<muster::core::BackendClient> Context::backend() const {
    return muster::core::BackendClient::create(plugin, options, ttl_ms);
}

muster_status Context::raw_create(const Options& opts, muster_error& err) const {
    std::vector<muster_option> raw;
    for (const auto& [k, v] : opts) raw.push_back({k.c_str(), v.c_str()});
    if (plugin->backend) {
        muster_backend_config cfg{sizeof cfg, 0, nullptr, raw.data(), raw.size(), ttl_ms};
        muster_backend* b = nullptr;
        muster_status st = vt().create(&cfg, &b, &err);
        if (b) vt().destroy(b);
        return st;
    }
    muster_health_config cfg{sizeof cfg, 0, nullptr, raw.data(), raw.size()};
    muster_health_check* h = nullptr;
    muster_status st = hvt().create(&cfg, &h, &err);
    if (h) hvt().destroy(h);
    return st;
}

std::string Context::fresh_role(const std::string& hint) const {
    static std::mt19937_64 rng{std::random_device{}()};
    static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string suffix;
    for (int i = 0; i < 8; ++i) suffix += digits[rng() % 36];
    return "c" + hint + "-" + suffix;
}

muster::sdk::Instance Context::instance(const std::string& role, int port) const {
    muster::sdk::Instance i;
    i.id = muster::core::new_instance_id();
    i.role = role;
    i.address = "127.0.0.1:" + std::to_string(port);
    i.metadata = {{"zone", "a"}};
    return i;
}

std::vector<muster::sdk::Instance> list(muster::core::BackendClient& b, const std::string* role, std::uint32_t flags) {
    std::vector<muster::sdk::Instance> out;
    must(b.list(role, flags, out), "list");
    return out;
}

bool listed(muster::core::BackendClient& b, const std::string& role, const std::string& id, std::uint32_t flags) {
    for (const auto& i : list(b, &role, flags))
        if (i.id == id) return true;
    return false;
}

KeepAlive::KeepAlive(muster::core::BackendClient& b, std::int64_t ttl_ms)
        : b_(b), ttl_ms_(ttl_ms), thread_([this] {
              std::unique_lock lk(mu_);
              while (!cv_.wait_for(lk, std::chrono::milliseconds(ttl_ms_ / 4), [this] { return stop_; })) {
                  std::vector<std::string> ids = ids_;
                  lk.unlock();
                  std::vector<muster_status> res;
                  if (!ids.empty()) b_.heartbeat(ids, res);
                  lk.lock();
              }
          }) {}

KeepAlive::~KeepAlive() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void KeepAlive::add(const std::string& id) {
    std::lock_guard lk(mu_);
    ids_.push_back(id);
}

void KeepAlive::remove(const std::string& id) {
    std::lock_guard lk(mu_);
    ids_.erase(std::remove(ids_.begin(), ids_.end(), id), ids_.end());
}

void must(const muster::core::Outcome& o, const std::string& what) {
    check(o.ok(), what + " failed: " + muster_status_name(o.status) + ": " + o.message);
}

void sleep_ms(std::int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

bool eventually(std::int64_t timeout_ms, const std::function<bool()>& pred) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        sleep_ms(20);
    }
    return pred();
}

}  // namespace conformance
