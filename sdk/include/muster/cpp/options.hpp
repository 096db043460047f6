// C++ helpers for the muster ABI: option values and their schema check.
// The host and the SDK trampolines share this one implementation, so a
// value the host accepts is a value the plugin accepts.
#pragma once

#include <muster/options.h>

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muster::sdk {

inline std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    const char* b = s.data();
    if (!s.empty() && s[0] == '+') ++b;
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

inline std::optional<bool> parse_bool(std::string_view s) {
    if (s == "true") return true;
    if (s == "false") return false;
    return std::nullopt;
}

// Durations: a whole number followed by ms, s, m or h ("500ms", "30s",
// "2m"); a bare number is milliseconds. Negative durations are refused.
inline std::optional<std::int64_t> parse_duration_ms(std::string_view s) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    if (digits == 0 || digits > 12) return std::nullopt;
    auto n = parse_int(s.substr(0, digits));
    std::string_view unit = s.substr(digits);
    std::int64_t scale = unit.empty() || unit == "ms" ? 1
                         : unit == "s"                ? 1000
                         : unit == "m"                ? 60000
                         : unit == "h"                ? 3600000
                                                      : 0;
    if (!n || scale == 0) return std::nullopt;
    return *n * scale;
}

inline const char* option_type_name(std::uint32_t t) {
    switch (t) {
    case MUSTER_OPT_STRING: return "string";
    case MUSTER_OPT_INT: return "integer";
    case MUSTER_OPT_BOOL: return "boolean (true|false)";
    case MUSTER_OPT_DURATION: return "duration (e.g. 500ms, 30s, 2m)";
    }
    return "unknown";
}

// Checks `given` (name, text value) against the schema and writes the
// normalised values, defaults included, to `out`. Returns an empty string on
// success, else one line naming the option (never a secret's value).
inline std::string check_options(const muster_option_spec* specs, std::size_t count,
                                 const std::vector<std::pair<std::string, std::string>>& given,
                                 std::map<std::string, std::string>& out) {
    std::map<std::string, std::string> result;
    auto find = [&](std::string_view name) -> const muster_option_spec* {
        for (std::size_t i = 0; i < count; ++i)
            if (specs[i].name && name == specs[i].name) return &specs[i];
        return nullptr;
    };
    for (const auto& [name, value] : given) {
        const muster_option_spec* spec = find(name);
        if (!spec) {
            std::string known;
            for (std::size_t i = 0; i < count; ++i) known += (i ? ", " : "") + std::string(specs[i].name);
            return "unknown option '" + name + "' (this plugin takes: " + (known.empty() ? "none" : known) + ")";
        }
        std::string normalised = value;
        bool ok = true;
        switch (spec->type) {
        case MUSTER_OPT_INT: ok = parse_int(value).has_value(); break;
        case MUSTER_OPT_BOOL: ok = parse_bool(value).has_value(); break;
        case MUSTER_OPT_DURATION: {
            auto d = parse_duration_ms(value);
            ok = d.has_value();
            if (ok) normalised = std::to_string(*d);
            break;
        }
        default: break;
        }
        if (!ok) {
            std::string shown = (spec->flags & MUSTER_OPT_SECRET) ? "" : " '" + value + "'";
            return "option '" + name + "' has value" + shown + " which is not a " + option_type_name(spec->type);
        }
        if (result.count(name)) return "option '" + name + "' is given twice";
        result[name] = normalised;
    }
    for (std::size_t i = 0; i < count; ++i) {
        const muster_option_spec& s = specs[i];
        if (result.count(s.name)) continue;
        if (s.flags & MUSTER_OPT_REQUIRED)
            return "option '" + std::string(s.name) + "' is required: " + (s.help ? s.help : "");
        if (s.default_value) {
            std::string d = s.default_value;
            if (s.type == MUSTER_OPT_DURATION)
                if (auto ms = parse_duration_ms(d)) d = std::to_string(*ms);
            result[s.name] = d;
        }
    }
    out = std::move(result);
    return {};
}

// Checked option values as a plugin reads them.
class Options {
public:
    Options() = default;
    explicit Options(std::map<std::string, std::string> values) : values_(std::move(values)) {}

    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback = {}) const {
        auto it = values_.find(name);
        return it == values_.end() ? fallback : it->second;
    }
    std::int64_t get_int(const std::string& name, std::int64_t fallback = 0) const {
        auto it = values_.find(name);
        if (it == values_.end()) return fallback;
        return parse_int(it->second).value_or(fallback);
    }
    bool get_bool(const std::string& name, bool fallback = false) const {
        auto it = values_.find(name);
        if (it == values_.end()) return fallback;
        return parse_bool(it->second).value_or(fallback);
    }
    // Durations arrive normalised to milliseconds.
    std::int64_t get_duration_ms(const std::string& name, std::int64_t fallback = 0) const {
        return get_int(name, fallback);
    }

private:
    std::map<std::string, std::string> values_;
};

}  // namespace muster::sdk
