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

// A placeholder's value as it goes into the text (identity by default).
using TemplateQuote = std::string (*)(std::string_view value);

// `value` as one word for /bin/sh, whatever it holds: in single quotes,
// each ' written as '\''. For values that a registrant chose (metadata, an
// address) pasted into a shell command.
inline std::string shell_quoted(std::string_view value) {
    std::string out = "'";
    for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// `text` (valid by check_template) with the instance's values in place,
// each passed through `quote` when given; nullopt with `missing` set when
// the instance has no such metadata key.
inline std::optional<std::string> fill_template(std::string_view text, const Instance& in, std::string& missing,
                                                TemplateQuote quote = nullptr) {
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
        std::string value;
        if (name == "id")
            value = in.id;
        else if (name == "role")
            value = in.role;
        else if (name == "address")
            value = in.address;
        else if (name == "host")
            value = host;
        else if (name == "port")
            value = port;
        else if (auto it = in.metadata.find(name.substr(5)); it != in.metadata.end())
            value = it->second;
        else {
            missing = name.substr(5);
            return std::nullopt;
        }
        out += quote ? quote(value) : value;
    }
    return out;
}

}  // namespace muster::sdk
