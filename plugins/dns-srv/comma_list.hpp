// The options' text: "a, b ,c" -> {"a", "b", "c"} (empty entries dropped),
// and the spaces around one value.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace dns_srv {

inline std::string trimmed(const std::string& s) {
    auto b = s.find_first_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

inline std::vector<std::string> comma_list(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string entry;
    while (std::getline(in, entry, ','))
        if (auto t = trimmed(entry); !t.empty()) out.push_back(std::move(t));
    return out;
}

}  // namespace dns_srv
