// The one way a registration becomes an instance spec, whichever front end
// received it: `muster-host run` (--role, [service.NAME]), the agent's
// PUT /v1/instances and libmuster's muster_register. One validation, one
// wording, one policy for which checks the caller may name.
#pragma once

#include "setup_error.hpp"

#include <muster/core/registry.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace host {

struct Runtime;
struct Settings;

// The most checks, and the most roles depended on, of one instance: each
// check runs every interval, so a registrant cannot have the node run a
// thousand.
constexpr std::size_t kMaxChecks = 16;

// A registration as a front end received it, nothing checked yet.
struct RegistrationRequest {
    std::string role, address, id;  // id empty: the registry makes one
    std::map<std::string, std::string> metadata;
    std::vector<std::string> checks;      // check names (see CheckAuthority)
    std::vector<std::string> depends_on;  // "role", "role:N" (N passing at least), or a comma list of them
    // Where it came from, the start of every message about it: "command
    // line", "app.toml [service.api]"; empty for a caller's request.
    std::string origin;
    // What a problem with it is: usage for a request or the command line,
    // config for a [service.NAME] section.
    Fault bad_input = Fault::usage;
};

// Who names the checks.
enum class CheckAuthority {
    // The operator (--check, [service.NAME] checks): a [check.NAME], else a
    // health-check plugin by name, with [health.NAME]'s options.
    operator_,
    // A caller (HTTP, libmuster): only a [check.NAME] the operator
    // configured, made from the plugin loaded at composition (never a path
    // or a bare plugin name: nothing is loaded because of a request). A
    // check whose options carry a secret is attached only to addresses its
    // allow_addresses lists, so a registrant cannot have the secret sent to
    // a host of its choosing.
    caller,
};

// Checks every field of `r` (the SDK's rules F1-F5, as the registry and
// every plugin check them), the number of checks and the dependencies,
// without a node: what can be refused before anything is composed. Throws
// SetupError(r.bad_input).
void check_request(const RegistrationRequest& r);

// check_request, then makes the checks: bad input writes nothing. Throws
// SetupError (the request's bad_input fault; plugin for a check plugin that
// cannot be loaded or configured).
muster::core::InstanceSpec build_instance(const Runtime& rt, const Settings& s, const RegistrationRequest& r,
                                          CheckAuthority who);

// "writer:2" -> {writer, 2}; "querier" -> {querier, 1}. Throws
// SetupError(fault) naming `origin`.
muster::core::Dependency parse_dependency(const std::string& item, const std::string& origin, Fault fault);

}  // namespace host
