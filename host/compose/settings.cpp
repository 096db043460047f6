#include "settings.hpp"

#include "chain_settings.hpp"
#include "check_settings.hpp"
#include "config_file.hpp"
#include "region_settings.hpp"
#include "setting_keys.hpp"
#include "setup_error.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace host {

namespace {

// Each key's values from the highest layer that has it (file, then
// environment, then overrides): several only for a repeatable key.
using Layered = std::map<const SettingKey*, std::vector<Sourced>>;

const SettingKey* key_named(const std::string& name) {
    for (const auto& k : setting_keys())
        if (name == k.name) return &k;
    return nullptr;
}

// The file's entries by kind: the table's keys go into `layered`, the
// sections named for a plugin, check or service into `sections`.
struct Sections {
    std::vector<ConfigEntry> backend, health, check, service, region;
};

Sections read_file(const std::vector<ConfigEntry>& file, const std::string& config_path, Layered& layered) {
    Sections out;
    const std::pair<const char*, std::vector<ConfigEntry>*> named[] = {{"backend.", &out.backend},
                                                                       {"health.", &out.health},
                                                                       {"check.", &out.check},
                                                                       {"service.", &out.service},
                                                                       {"region.", &out.region}};
    for (const auto& e : file) {
        std::string where = config_path + ":" + std::to_string(e.line);
        auto kind = std::find_if(std::begin(named), std::end(named),
                                 [&](const auto& n) { return e.section.rfind(n.first, 0) == 0; });
        if (kind != std::end(named)) {
            kind->second->push_back(e);
            continue;
        }
        const SettingKey* k = nullptr;
        bool section_known = false;
        for (const auto& cand : setting_keys()) {
            if (!cand.section || e.section != cand.section) continue;
            section_known = true;
            if (e.key == cand.key) k = &cand;
        }
        if (!section_known)
            throw SetupError(Fault::config,
                             where + ": unknown section [" + e.section +
                                 "] (known: discovery, log, agent, database, queue, backend.NAME, health.NAME, "
                                 "check.NAME, service.NAME, region.NAME)");
        if (!k) throw SetupError(Fault::config, where + ": unknown key '" + e.key + "' in [" + e.section + "]");
        layered[k] = {{e.value, where}};
    }
    return out;
}

void read_environment(Layered& layered) {
    for (const auto& k : setting_keys())
        if (const char* v = k.section ? std::getenv(k.env_name().c_str()) : nullptr)
            layered[&k] = {{v, "environment " + k.env_name()}};
}

void read_overrides(const SettingsSource& source, Layered& layered) {
    Layered given;
    for (const auto& [name, value] : source.overrides) {
        const SettingKey* k = key_named(name);
        if (!k) throw SetupError(Fault::usage, source.overrides_origin + name + ": no such setting");
        auto& values = given[k];
        if (!values.empty() && !k->repeatable)
            throw SetupError(Fault::usage, source.overrides_origin + name + ": given twice");
        values.push_back({value, source.overrides_origin + name});
    }
    for (auto& [k, values] : given) layered[k] = std::move(values);
}

// A secret kept in a file of its own (its first line): refused when others
// than its owner may read it, as ssh refuses a private key.
std::string read_secret_file(const Sourced& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    auto perms = fs::status(path.value, ec).permissions();
    if (ec || !fs::is_regular_file(path.value, ec))
        throw SetupError(Fault::config, path.origin + ": '" + path.value + "' is not a readable file");
    if ((perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none)
        throw SetupError(Fault::config,
                         path.origin + ": '" + path.value + "' may be read by others than its owner; chmod 600 it");
    std::ifstream in(path.value);
    std::string line;
    if (!in || !std::getline(in, line))
        throw SetupError(Fault::config, path.origin + ": cannot read '" + path.value + "'");
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

// A token (`name`) given as the setting or in its file (name_file); ""
// when neither. Never the value in a message: only its length.
std::string token(const std::optional<Sourced>& value, const std::optional<Sourced>& file, const std::string& name) {
    std::optional<Sourced> t = value;
    if (file) {
        if (value) throw SetupError(Fault::config, file->origin + ": give " + name + " or " + name + "_file, not both");
        t = Sourced{read_secret_file(*file), file->origin + " (the file)"};
    }
    if (!t) return "";
    if (t->value.size() < kMinTokenBytes)
        throw SetupError(Fault::config, t->origin + ": " + name + " is " + std::to_string(t->value.size()) +
                                            " bytes; use at least " + std::to_string(kMinTokenBytes) +
                                            " (e.g. openssl rand -hex 16)");
    return t->value;
}

// The checks between values, once every key is read.
void check_together(Loading& l) {
    auto& s = l.s;
    auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
    // Without a ttl of its own, the ttl follows the interval: three missed
    // heartbeats (Eureka's 30 s / 90 s), so the seed's `heartbeat_interval =
    // "30s"` alone is accepted as written.
    if (!l.ttl_origin) s.registry.ttl = s.registry.heartbeat_interval * 3;
    if (s.registry.heartbeat_interval >= s.registry.ttl)
        throw SetupError(Fault::config, l.ttl_origin.value_or("") + ": heartbeat_interval (" +
                                            ms(s.registry.heartbeat_interval) + ") must be shorter than ttl (" +
                                            ms(s.registry.ttl) +
                                            "), or instances expire between heartbeats (leave ttl unset: it "
                                            "follows the interval, 3x)");
    if (s.check_timeout >= s.check_interval)
        throw SetupError(Fault::config, "check_timeout (" + ms(s.check_timeout) + ") must be shorter than " +
                                            "check_interval (" + ms(s.check_interval) + ")");
    const auto& b = s.chain_options.breaker;
    if (b.max_backoff < b.initial_backoff)
        throw SetupError(Fault::config, "breaker_max_backoff (" + ms(b.max_backoff) + ") must not be shorter " +
                                            "than breaker_backoff (" + ms(b.initial_backoff) + ")");
    s.http_token = token(l.http_token, l.http_token_file, "http_token");
    s.http_read_token = token(l.http_read_token, l.http_read_token_file, "http_read_token");
}

// [service.NAME] sections: a registration each, its fields checked when
// the node builds it (registration.hpp), its dependencies now, on their line.
std::vector<RegistrationRequest> read_services(const std::vector<ConfigEntry>& entries,
                                               const std::string& config_path) {
    std::vector<RegistrationRequest> out;
    for (const auto& e : entries) {
        std::string name = e.section.substr(8), where = config_path + ":" + std::to_string(e.line);
        std::string origin = config_path + " [service." + name + "]";
        RegistrationRequest* svc = nullptr;
        for (auto& x : out)
            if (x.origin == origin) svc = &x;
        if (!svc) {
            svc = &out.emplace_back();
            svc->origin = origin;
            svc->bad_input = Fault::config;
        }
        if (e.key == "role")
            svc->role = e.value;
        else if (e.key == "address")
            svc->address = e.value;
        else if (e.key == "id")
            svc->id = e.value;
        else if (e.key == "checks")
            svc->checks = split_list(e.value);
        else if (e.key == "depends_on") {
            svc->depends_on = {e.value};
            for (const auto& item : split_list(e.value)) parse_dependency(item, where, Fault::config);
        } else if (e.key.rfind("meta.", 0) == 0)
            svc->metadata[e.key.substr(5)] = e.value;
        else
            throw SetupError(Fault::config, where + ": unknown key '" + e.key + "' in [service." + name +
                                                "] (role, address, id, checks, depends_on, meta.KEY)");
    }
    for (const auto& svc : out)
        if (svc.role.empty() || svc.address.empty())
            throw SetupError(Fault::config, svc.origin + ": a service needs both role and address");
    return out;
}

}  // namespace

Settings load_settings(const SettingsSource& source) {
    if (source.config_path && source.config_text)
        throw SetupError(Fault::usage, "give the configuration as a file or as text, not both");
    std::string config_path;
    std::vector<ConfigEntry> file;
    if (source.config_text) {
        config_path = "config text";
        file = parse_config(*source.config_text, config_path);
    } else {
        const char* env = std::getenv("MUSTER_CONFIG");
        config_path = source.config_path ? *source.config_path : env ? env : "";
        if (!config_path.empty()) file = read_config_file(config_path);
    }

    Layered layered;
    Sections sections = read_file(file, config_path, layered);
    read_environment(layered);
    read_overrides(source, layered);

    Loading l;
    for (const auto& k : setting_keys())  // in the table's order
        if (auto it = layered.find(&k); it != layered.end())
            for (const auto& v : it->second) k.apply(l, v, k.shown());
    check_together(l);
    load_chain(l, sections.backend, config_path);
    load_regions(l, sections.region, config_path);
    l.s.checks = parse_checks(sections.check, config_path, l.s.check_interval, l.s.check_timeout);
    for (const auto& e : sections.health) l.s.health_options[e.section.substr(7)].emplace_back(e.key, e.value);
    l.s.services = read_services(sections.service, config_path);
    return std::move(l.s);
}

}  // namespace host
