// Which instance addresses an operator allows something for (a check with
// a secret, say): patterns of an IP address ("10.0.1.5", "::1"), an address
// with a port ("10.0.1.5:8080", "[::1]:8080") or a network ("10.0.0.0/8",
// "fd00::/8"). Host names never match a pattern: what a name resolves to
// is the registrant's to choose.
#pragma once

#include <string>
#include <vector>

namespace host {

// Why `pattern` is not one of the forms above, or empty.
std::string address_pattern_problem(const std::string& pattern);

// True when `address` (HOST:PORT, as instances carry it) matches a pattern.
bool address_allowed(const std::vector<std::string>& patterns, const std::string& address);

}  // namespace host
