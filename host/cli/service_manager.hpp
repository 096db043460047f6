// Tells systemd (Type=notify units, muster-host@.service) where `run` is:
// ready once its services are registered, stopping when a signal came.
// Without NOTIFY_SOCKET (not under systemd) each call does nothing.
#pragma once

#include <string>

namespace host {

// READY=1 with a one-line status ("running 2 service(s) on chain ...").
void notify_ready(const std::string& status);
// STOPPING=1 with a status ("draining for 5000 ms", "deregistering").
void notify_stopping(const std::string& status);

}  // namespace host
