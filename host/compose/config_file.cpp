#include "config_file.hpp"

#include "setup_error.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace host {

namespace {

// Sections that hold named sections of their own: [backend.NAME],
// [health.NAME], [check.NAME], [service.NAME], [region.NAME] (whose
// [region.NAME.backend.PLUGIN] tables become keys backend.PLUGIN.KEY).
bool holds_named_sections(const std::string& name) {
    return name == "backend" || name == "health" || name == "check" || name == "service" || name == "region";
}

struct Flattener {
    const std::string& file;
    std::vector<ConfigEntry>& out;

    [[noreturn]] void fail(const toml::node& at, const std::string& what) const {
        const auto& b = at.source().begin;
        throw SetupError(Fault::config,
                         file + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " + what);
    }

    // A value as the settings read it: strings as they are, numbers and
    // booleans as written, an array as a comma-separated list.
    std::string text(const toml::node& v, const std::string& key) const {
        if (auto s = v.as_string()) return s->get();
        if (auto i = v.as_integer()) return std::to_string(i->get());
        if (auto b = v.as_boolean()) return b->get() ? "true" : "false";
        if (auto f = v.as_floating_point()) {
            std::ostringstream o;
            o << f->get();
            return o.str();
        }
        if (auto a = v.as_array()) {
            std::string out;
            for (const auto& item : *a) {
                if (item.is_array() || item.is_table()) fail(item, "'" + key + "': a list holds plain values only");
                out += (out.empty() ? "" : ", ") + text(item, key);
            }
            return out;
        }
        fail(v, "'" + key + "' is a date or time; write it as a string");
    }

    // Every value of `table` into `section`; a table inside is a dotted key
    // (meta.zone = "a" and [service.x.meta] zone = "a" alike).
    void values(const toml::table& table, const std::string& section, const std::string& prefix) const {
        for (const auto& [k, v] : table) {
            std::string key = prefix + std::string(k.str());
            if (auto t = v.as_table())
                values(*t, section, key + ".");
            else
                out.push_back({section, key, text(v, key), static_cast<int>(v.source().begin.line)});
        }
    }
};

}  // namespace

std::vector<ConfigEntry> parse_config(const std::string& text, const std::string& name) {
    toml::table root;
    try {
        root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        throw SetupError(Fault::config, name + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
                                            std::string(e.description()));
    }
    std::vector<ConfigEntry> out;
    Flattener f{name, out};
    for (const auto& [k, v] : root) {
        std::string section(k.str());
        auto t = v.as_table();
        if (!t) f.fail(v, "key '" + section + "' is outside any [section]");
        if (!holds_named_sections(section)) {
            f.values(*t, section, "");
            continue;
        }
        for (const auto& [sub, node] : *t) {
            auto named = node.as_table();
            if (!named)
                f.fail(node, "'" + std::string(sub.str()) + "' in [" + section + "] belongs in a section [" + section +
                                 ".NAME]");
            f.values(*named, section + "." + std::string(sub.str()), "");
        }
    }
    // toml++ keeps keys sorted; the settings want the file's order
    // ([service.NAME] sections register in it).
    std::stable_sort(out.begin(), out.end(),
                     [](const ConfigEntry& a, const ConfigEntry& b) { return a.line < b.line; });
    return out;
}

std::vector<ConfigEntry> read_config_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw SetupError(Fault::config, "config file '" + path + "' is a directory: name the file inside it");
    std::ifstream f(path);
    if (!f)
        throw SetupError(Fault::config, "cannot read config file '" + path + "': it does not exist or is not readable");
    std::stringstream buf;
    buf << f.rdbuf();
    if (f.bad()) throw SetupError(Fault::config, "cannot read config file '" + path + "'");
    return parse_config(buf.str(), path);
}

std::vector<std::string> split_list(const std::string& value) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : value + ",") {
        if (c == ',') {
            auto b = cur.find_first_not_of(' '), e = cur.find_last_not_of(' ');
            if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
            cur.clear();
        } else {
            cur += c;
        }
    }
    return out;
}

}  // namespace host
