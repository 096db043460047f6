// C++ helpers for the muster ABI: text with placeholders filled from an
// instance, for checks that address it (a URL, a command's arguments):
// {id}, {role}, {address}, {host}, {port}, {meta.KEY}; "{{" is a literal
// "{". Shared by health-http, health-exec and anyone's check.
#pragma once

#include <muster/cpp/instance.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace muster::sdk {

// Why `text` is not a valid template (an unknown or unclosed placeholder),
// or empty. Check it when the plugin is created.
inline std::string check_template(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '{') continue;
        if (i + 1 < text.size() && text[i + 1] == '{') {
            ++i;
            continue;
        }
        auto close = text.find('}', i);
        if (close == std::string_view::npos) return "'{' at " + std::to_string(i) + " is not closed";
        std::string_view name = text.substr(i + 1, close - i - 1);
        bool known = name == "id" || name == "role" || name == "address" || name == "host" || name == "port" ||
                     (name.rfind("meta.", 0) == 0 && name.size() > 5);
        if (!known)
            return "unknown placeholder {" + std::string(name) +
                   "} (use {id}, {role}, {address}, {host}, {port} or {meta.KEY})";
        i = close;
    }
    return {};
}

// `text` (valid by check_template) with the instance's values in place;
// nullopt with `missing` set when the instance has no such metadata key.
inline std::optional<std::string> fill_template(std::string_view text, const Instance& in, std::string& missing) {
    std::string out;
    auto colon = in.address.rfind(':');
    std::string host = in.address.substr(0, colon), port = in.address.substr(colon + 1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '{') {
            out += text[i];
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        auto close = text.find('}', i);
        std::string name(text.substr(i + 1, close - i - 1));
        i = close;
        if (name == "id")
            out += in.id;
        else if (name == "role")
            out += in.role;
        else if (name == "address")
            out += in.address;
        else if (name == "host")
            out += host;
        else if (name == "port")
            out += port;
        else if (auto it = in.metadata.find(name.substr(5)); it != in.metadata.end())
            out += it->second;
        else {
            missing = name.substr(5);
            return std::nullopt;
        }
    }
    return out;
}

}  // namespace muster::sdk
