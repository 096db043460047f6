#include "role_map.hpp"

#include "comma_list.hpp"

#include <muster/cpp/error.hpp>
#include <muster/cpp/validate.hpp>

#include <cctype>
#include <sstream>

namespace dns_srv {

namespace {

using muster::sdk::Error;

}  // namespace

std::string check_dns_name(const std::string& name) {
    std::string n = !name.empty() && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
    if (n.empty() || n.size() > 253) return "a DNS name has 1-253 characters";
    std::istringstream in(n);
    std::string label;
    while (std::getline(in, label, '.')) {
        if (label.empty() || label.size() > 63) return "each label of a DNS name has 1-63 characters";
        for (unsigned char c : label)
            if (!std::isalnum(c) && c != '-' && c != '_') return "a DNS name has letters, digits, '-', '_' and dots";
    }
    return n.back() == '.' ? "a DNS name has no empty label" : "";
}

RoleMap::RoleMap(const std::string& roles, const std::string& name_template) : template_(trimmed(name_template)) {
    for (const auto& entry : comma_list(roles)) {
        auto eq = entry.find('=');
        std::string role = eq == std::string::npos ? "" : trimmed(entry.substr(0, eq));
        std::string name = eq == std::string::npos ? "" : trimmed(entry.substr(eq + 1));
        if (role.empty() || name.empty())
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'roles': '" + entry +
                                                     "' is not ROLE=NAME, e.g. "
                                                     "router=_grpc._tcp.router.prod.svc.cluster.local");
        if (auto why = muster::sdk::check_role(role); !why.empty())
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'roles': " + why);
        if (auto why = check_dns_name(name); !why.empty())
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'roles': '" + name + "': " + why);
        if (!roles_.emplace(role, name).second)
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'roles': role '" + role + "' is mapped twice");
    }
    if (!template_.empty()) {
        auto at = template_.find("{role}");
        if (at == std::string::npos)
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'template': '" + template_ +
                                                     "' has no {role}: e.g. _http._tcp.{role}.prod.svc.cluster.local");
        std::string sample = template_;
        sample.replace(at, 6, "role");
        if (auto why = check_dns_name(sample); !why.empty())
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'template': '" + template_ + "': " + why);
    }
}

std::optional<std::string> RoleMap::name_of(const std::string& role) const {
    if (auto it = roles_.find(role); it != roles_.end()) return it->second;
    if (template_.empty()) return std::nullopt;
    std::string name = template_;
    for (auto at = name.find("{role}"); at != std::string::npos; at = name.find("{role}", at + role.size()))
        name.replace(at, 6, role);
    // A role is a valid label (rule F1) but a long one can make the name too long.
    if (!check_dns_name(name).empty()) return std::nullopt;
    return name;
}

std::vector<std::string> RoleMap::named_roles() const {
    std::vector<std::string> out;
    for (const auto& [role, name] : roles_) out.push_back(role);
    return out;
}

}  // namespace dns_srv
