#include "status_set.hpp"

namespace health_http {

std::optional<StatusSet> StatusSet::parse(const std::string& text) {
    StatusSet s;
    std::string item;
    for (char c : text + ",") {
        if (c == ' ') continue;
        if (c != ',') {
            item += c;
            continue;
        }
        if (item.empty()) continue;
        if (item.size() != 3) return std::nullopt;
        if ((item[1] == 'x' || item[1] == 'X') && (item[2] == 'x' || item[2] == 'X') && item[0] >= '1' &&
            item[0] <= '5') {
            s.classes_.insert(item[0] - '0');
        } else {
            for (char d : item)
                if (d < '0' || d > '9') return std::nullopt;
            long code = std::stol(item);
            if (code < 100 || code > 599) return std::nullopt;
            s.codes_.insert(code);
        }
        item.clear();
    }
    if (s.codes_.empty() && s.classes_.empty()) return std::nullopt;
    return s;
}

bool StatusSet::contains(long code) const { return codes_.count(code) || classes_.count(code / 100); }

}  // namespace health_http
