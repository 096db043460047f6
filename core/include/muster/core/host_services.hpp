// The host side of muster_host_services: plugin log lines go to spdlog with
// every registered secret masked, and the clock is the system clock.
#pragma once

#include <muster/host.h>

#include <mutex>
#include <set>
#include <string>

namespace muster::core {

class HostServices {
public:
    // The process-wide instance whose table is handed to every plugin.
    static HostServices& instance();

    const muster_host_services* table() const { return &table_; }

    // Remembers a secret value: from now on it is masked in plugin logs and
    // in every message passed through redact().
    void add_secret(const std::string& value);
    std::string redact(std::string text) const;

private:
    HostServices();
    muster_host_services table_{};
    mutable std::mutex mu_;
    std::set<std::string> secrets_;
};

}  // namespace muster::core
