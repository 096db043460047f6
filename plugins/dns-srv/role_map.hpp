// Which DNS name holds which role: an explicit map (`roles`) and, for the
// roles it does not name, an optional template with {role} in it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dns_srv {

class RoleMap {
public:
    // `roles`: "router=_grpc._tcp.router.prod.svc.cluster.local, ..."
    // `name_template`: "_http._tcp.{role}.prod.svc.cluster.local" or empty.
    // Throws muster::sdk::Error(INVALID_ARGUMENT) naming the bad entry.
    RoleMap(const std::string& roles, const std::string& name_template);

    // The DNS name of `role`, or nullopt when this backend does not hold it.
    std::optional<std::string> name_of(const std::string& role) const;
    // The roles named explicitly: what an every-role list reads (a
    // template's roles cannot be enumerated).
    std::vector<std::string> named_roles() const;
    bool empty() const { return roles_.empty() && template_.empty(); }

private:
    std::map<std::string, std::string> roles_;
    std::string template_;
};

// A DNS name as a resolver takes it: labels of 1-63 letters, digits, '-'
// or '_' (SRV's _service._proto), at most 253 characters, an optional
// final dot. Empty when fine, else why not.
std::string check_dns_name(const std::string& name);

}  // namespace dns_srv
