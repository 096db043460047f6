// Base64 (RFC 4648, with padding), the form etcd's JSON gateway gives every
// key and value in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace etcd {

std::string base64_encode(std::string_view bytes);
// nullopt for text that is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace etcd
