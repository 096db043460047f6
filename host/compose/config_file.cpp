#include "config_file.hpp"

#include "setup_error.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace host {

namespace {

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return {};
    auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

bool valid_name(const std::string& s, bool dotted) {
    if (s.empty()) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (dotted && c == '.')))
            return false;
    return true;
}

}  // namespace

std::vector<ConfigEntry> parse_config(const std::string& text, const std::string& name) {
    std::vector<ConfigEntry> out;
    std::istringstream in(text);
    std::string raw, section;
    int line = 0;
    auto fail = [&](const std::string& what) -> SetupError {
        return SetupError(Fault::config, name + ":" + std::to_string(line) + ": " + what);
    };
    while (std::getline(in, raw)) {
        ++line;
        std::string s = trim(raw);
        if (s.empty() || s[0] == '#') continue;
        if (s[0] == '[') {
            auto close = s.find(']');
            if (close == std::string::npos) throw fail("section header without ']'");
            std::string rest = trim(s.substr(close + 1));
            if (!rest.empty() && rest[0] != '#') throw fail("text after the section header");
            section = trim(s.substr(1, close - 1));
            if (!valid_name(section, true)) throw fail("invalid section name '" + section + "'");
            continue;
        }
        auto eq = s.find('=');
        if (eq == std::string::npos) throw fail("expected key = \"value\"");
        std::string key = trim(s.substr(0, eq)), v = trim(s.substr(eq + 1));
        if (!valid_name(key, true)) throw fail("invalid key '" + key + "'");
        if (section.empty()) throw fail("key '" + key + "' is outside any [section]");
        std::string value;
        if (!v.empty() && v[0] == '"') {
            std::size_t i = 1;
            bool closed = false;
            for (; i < v.size(); ++i) {
                char c = v[i];
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c == '\\') {
                    if (++i >= v.size()) break;
                    switch (v[i]) {
                    case 'n': value += '\n'; break;
                    case 't': value += '\t'; break;
                    case '"': value += '"'; break;
                    case '\\': value += '\\'; break;
                    default: throw fail(std::string("unknown escape '\\") + v[i] + "'");
                    }
                } else {
                    value += c;
                }
            }
            if (!closed) throw fail("unterminated string");
            std::string rest = trim(v.substr(i + 1));
            if (!rest.empty() && rest[0] != '#') throw fail("text after the value");
        } else {
            auto hash = v.find('#');
            value = trim(hash == std::string::npos ? v : v.substr(0, hash));
            bool bare_ok = value == "true" || value == "false";
            if (!bare_ok && !value.empty()) {  // an integer or a decimal: -12, 0.5
                bool digit = false, dot = false;
                bare_ok = true;
                for (std::size_t i = 0; i < value.size(); ++i) {
                    char c = value[i];
                    if (c >= '0' && c <= '9')
                        digit = true;
                    else if (c == '.' && !dot && digit)
                        dot = true;
                    else if (!(i == 0 && c == '-'))
                        bare_ok = false;
                }
                bare_ok = bare_ok && digit && value.back() != '.';
            }
            if (!bare_ok) throw fail("value of '" + key + "' must be a quoted string, true, false or a number");
        }
        for (const auto& e : out)
            if (e.section == section && e.key == key)
                throw fail("'" + key + "' is set twice in [" + section + "] (first on line " + std::to_string(e.line) +
                           ")");
        out.push_back({section, key, value, line});
    }
    return out;
}

std::vector<ConfigEntry> read_config_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw SetupError(Fault::config, "config file '" + path + "' is a directory: name the file inside it");
    std::ifstream f(path);
    if (!f) throw SetupError(Fault::config, "cannot read config file '" + path + "': it does not exist or is not readable");
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
