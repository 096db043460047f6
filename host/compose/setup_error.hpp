// Why settings, a plugin, a store or a registration request could not be
// turned into running parts. Every front end reads it its own way: the CLI
// maps the fault to its exit code (host/cli/exit_codes.hpp), libmuster
// returns the status, the HTTP API the status's HTTP code. The status is
// what happened (a plugin built for another ABI is UNSUPPORTED, a missing
// one NOT_FOUND, a store that refused its options that store's status).
#pragma once

#include <muster/cpp/error.hpp>

#include <string>

namespace host {

enum class Fault {
    usage,   // a caller's request or argument is malformed
    config,  // the settings are: file, syntax, unknown key, wrong type, invalid value
    plugin,  // a plugin cannot be loaded or does not provide what is asked of it
    store,   // no backend of the chain is available
};

class SetupError : public muster::sdk::Error {
public:
    SetupError(Fault fault, muster_status status, const std::string& message)
            : muster::sdk::Error(status, message), fault_(fault) {}
    // The status of a bad request or bad settings.
    SetupError(Fault fault, const std::string& message)
            : SetupError(fault, fault == Fault::store ? MUSTER_UNAVAILABLE : MUSTER_INVALID_ARGUMENT, message) {}
    Fault fault() const noexcept { return fault_; }

private:
    Fault fault_;
};

}  // namespace host
