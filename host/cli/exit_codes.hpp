// muster-host's exit codes, documented in --help and docs/operations.md.
#pragma once

#include "compose/setup_error.hpp"

#include <stdexcept>
#include <string>

namespace host {

enum ExitCode : int {
    kOk = 0,
    kFailure = 1,      // the operation ran but failed (e.g. deregister of an unknown id)
    kUsage = 2,        // bad command line: unknown flag, missing or conflicting arguments
    kConfig = 3,       // bad configuration: file, syntax, unknown key, wrong type, invalid value
    kPlugin = 4,       // a plugin cannot be loaded or refuses its options
    kUnavailable = 5,  // no backend of the chain is available
};

inline const char* exit_codes_help() {
    return "Exit codes: 0 success, 1 operation failed, 2 usage error, 3 configuration error,\n"
           "            4 plugin cannot be loaded or configured, 5 no backend available.\n";
}

// Ends the command with one line for people and an exit code.
struct HostError : std::runtime_error {
    HostError(ExitCode c, const std::string& message) : std::runtime_error(message), code(c) {}
    ExitCode code;
};

// The exit code of what the composition layer refused.
inline ExitCode exit_code(Fault f) {
    switch (f) {
    case Fault::usage: return kUsage;
    case Fault::config: return kConfig;
    case Fault::plugin: return kPlugin;
    case Fault::store: return kUnavailable;
    }
    return kFailure;
}

}  // namespace host
