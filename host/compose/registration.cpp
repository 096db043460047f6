#include "registration.hpp"

#include "address_pattern.hpp"
#include "config_file.hpp"
#include "node.hpp"

#include <muster/cpp/instance.hpp>
#include <muster/cpp/options.hpp>
#include <muster/cpp/validate.hpp>

namespace host {

namespace {

// A caller's text in a message: one line, and not all of it.
std::string quoted(const std::string& text) { return "'" + muster::sdk::utf8_line(text.substr(0, 64)) + "'"; }

// The spec of a check from its plugin and options; `name` is the check's
// (a [check.NAME] or the plugin's).
muster::core::CheckSpec check_of(const std::shared_ptr<const muster::core::LoadedPlugin>& p, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& options) {
    if (!p->health)
        throw SetupError(Fault::plugin, MUSTER_UNSUPPORTED, "plugin '" + p->name() + "' provides no health check");
    muster::core::CheckSpec spec;
    spec.name = name;
    try {
        spec.client = muster::core::HealthClient::create(p, options);
    } catch (const muster::sdk::Error& e) {
        throw SetupError(Fault::config, e.status(),
                         (name == p->name() ? "" : "check " + name + ": ") + std::string(e.what()));
    }
    return spec;
}

muster::core::CheckSpec defined_check(const std::shared_ptr<const muster::core::LoadedPlugin>& p, const CheckDef& d) {
    auto spec = check_of(p, d.name, d.options);
    spec.interval = d.interval;
    spec.timeout = d.timeout;
    spec.success_before_passing = d.success_before_passing;
    spec.failures_before_critical = d.failures_before_critical;
    spec.deregister_critical_after = d.deregister_critical_after;
    return spec;
}

// True when one of the plugin's options that `options` sets is declared secret.
bool sets_a_secret(const muster_health_v1& vt, const std::vector<std::pair<std::string, std::string>>& options) {
    for (const auto& [key, value] : options)
        for (std::size_t i = 0; i < vt.option_count; ++i)
            if (key == vt.options[i].name && (vt.options[i].flags & MUSTER_OPT_SECRET)) return true;
    return false;
}

// An operator's check: a [check.NAME], else a health-check plugin of that
// name with its [health.NAME] options, check_interval and check_timeout.
muster::core::CheckSpec operator_check(const Runtime& rt, const Settings& s, const std::string& name) {
    if (auto def = s.checks.find(name); def != s.checks.end())
        return defined_check(rt.check_plugins.at(name), def->second);
    std::vector<std::pair<std::string, std::string>> options;
    if (auto it = s.health_options.find(name); it != s.health_options.end()) options = it->second;
    auto spec = check_of(load_plugin(rt, name), name, options);
    spec.interval = s.check_interval;
    spec.timeout = s.check_timeout;
    return spec;
}

// A caller's check: a [check.NAME] only (CheckAuthority::caller). The
// message says nothing of the file system.
muster::core::CheckSpec caller_check(const Runtime& rt, const Settings& s, const std::string& name,
                                     const std::string& address, Fault fault) {
    auto def = s.checks.find(name);
    auto plugin = rt.check_plugins.find(name);
    if (def == s.checks.end() || plugin == rt.check_plugins.end()) {
        std::string known;
        for (const auto& [n, d] : s.checks) known += (known.empty() ? "" : ", ") + n;
        throw SetupError(fault, "check " + quoted(name) + " is not a [check.NAME] this node's operator configured " +
                                    "(configured: " + (known.empty() ? "none" : known) + ")");
    }
    if (sets_a_secret(*plugin->second->health, def->second.options) &&
        !address_allowed(def->second.allow_addresses, address))
        throw SetupError(fault, "check '" + name + "' carries a secret and may only be attached to the addresses its " +
                                    "allow_addresses lists; " + quoted(address) + " is not among them");
    return defined_check(plugin->second, def->second);
}

}  // namespace

muster::core::Dependency parse_dependency(const std::string& item, const std::string& origin, Fault fault) {
    std::string where = origin.empty() ? "" : origin + ": ";
    muster::core::Dependency d{item, 1};
    if (auto colon = item.find(':'); colon != std::string::npos) {
        d.role = item.substr(0, colon);
        auto n = muster::sdk::parse_int(item.substr(colon + 1));
        if (!n || *n < 1 || *n > 10000)
            throw SetupError(fault, where + "depends_on " + quoted(item) +
                                        ": the count after ':' must be a whole number from 1 to 10000 (role:N)");
        d.min_passing = static_cast<int>(*n);
    }
    if (auto p = muster::sdk::check_role(d.role); !p.empty())
        throw SetupError(fault, where + "depends_on " + quoted(item) + ": " + p);
    return d;
}

namespace {

std::vector<muster::core::Dependency> dependencies_of(const RegistrationRequest& r) {
    std::vector<muster::core::Dependency> out;
    for (const auto& list : r.depends_on)
        for (const auto& item : split_list(list)) {
            if (out.size() == kMaxChecks)
                throw SetupError(r.bad_input, (r.origin.empty() ? "" : r.origin + ": ") +
                                                  "an instance depends on at most " + std::to_string(kMaxChecks) +
                                                  " roles");
            out.push_back(parse_dependency(item, r.origin, r.bad_input));
        }
    return out;
}

}  // namespace

void check_request(const RegistrationRequest& r) {
    std::string where = r.origin.empty() ? "" : r.origin + ": ";
    // Without an id the registry makes one: the rest is checked with a valid one.
    muster::sdk::Instance inst;
    inst.id = r.id.empty() ? "00000000-0000-4000-8000-000000000000" : muster::sdk::normalised_id(r.id);
    inst.role = r.role;
    inst.address = r.address;
    inst.metadata = r.metadata;
    muster::sdk::CView view(inst);
    std::string problem = muster::sdk::check_instance(view.get());
    if (problem.empty()) problem = muster::sdk::check_own_metadata(inst.metadata);
    if (!problem.empty()) throw SetupError(r.bad_input, where + problem);
    if (r.checks.size() > kMaxChecks)
        throw SetupError(r.bad_input, where + "an instance takes at most " + std::to_string(kMaxChecks) + " checks");
    for (std::size_t i = 0; i < r.checks.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (r.checks[i] == r.checks[j])
                throw SetupError(r.bad_input, where + "check " + quoted(r.checks[i]) + " is named twice");
    dependencies_of(r);
}

muster::core::InstanceSpec build_instance(const Runtime& rt, const Settings& s, const RegistrationRequest& r,
                                          CheckAuthority who) {
    check_request(r);
    muster::core::InstanceSpec spec{r.role, r.address, r.id, r.metadata, {}, dependencies_of(r)};
    for (const auto& name : r.checks)
        spec.checks.push_back(who == CheckAuthority::operator_ ? operator_check(rt, s, name)
                                                               : caller_check(rt, s, name, r.address, r.bad_input));
    return spec;
}

}  // namespace host
