#include "service_manager.hpp"

#include <systemd/sd-daemon.h>
#include <muster/core/log.hpp>

namespace host {

namespace {

void notify(const std::string& state) {
    // < 0: the socket named is unusable; systemd then times the start out,
    // which this line explains.
    if (int r = sd_notify(0, state.c_str()); r < 0) muster::core::log::warn("cannot notify systemd: error {}", -r);
}

}  // namespace

void notify_ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

void notify_stopping(const std::string& status) { notify("STOPPING=1\nSTATUS=" + status); }

}  // namespace host
