// A set of HTTP status codes as an operator writes it: "2xx", "200,204",
// "429", "2xx,304".
#pragma once

#include <optional>
#include <set>
#include <string>

namespace health_http {

class StatusSet {
public:
    // nullopt when `text` is not a comma-separated list of codes (100-599)
    // or classes (1xx-5xx).
    static std::optional<StatusSet> parse(const std::string& text);
    bool contains(long code) const;

private:
    std::set<long> codes_;
    std::set<long> classes_;  // 2 for 2xx
};

}  // namespace health_http
