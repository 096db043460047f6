#include "keys.hpp"

#include <muster/cpp/json_document.hpp>

namespace etcd {

std::optional<std::pair<std::string, std::string>> Keys::parse(const std::string& key) const {
    std::string all = all_prefix();
    if (key.compare(0, all.size(), all) != 0) return std::nullopt;
    auto slash = key.find('/', all.size());
    if (slash == std::string::npos || slash == all.size() || slash + 1 == key.size() ||
        key.find('/', slash + 1) != std::string::npos)
        return std::nullopt;
    return std::pair(key.substr(all.size(), slash - all.size()), key.substr(slash + 1));
}

std::optional<muster::sdk::Instance> Keys::document(const std::string& key, std::string_view value) const {
    auto doc = muster::sdk::decode_document(value);
    auto where = parse(key);
    if (!doc || !where || where->first != doc->role || where->second != doc->id) return std::nullopt;
    return doc;
}

std::string Keys::range_end(std::string p) {
    // The prefixes here end in a byte of a key's alphabet (Keys): never
    // 0xff, so no carry.
    p.back() = static_cast<char>(p.back() + 1);
    return p;
}

}  // namespace etcd
