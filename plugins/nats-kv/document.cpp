#include "document.hpp"

namespace nats_kv {

std::string key_of(const std::string& role, const std::string& id) { return role + "." + id; }

}  // namespace nats_kv
