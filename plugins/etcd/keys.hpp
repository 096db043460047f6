// Where instances live in etcd's key space (docs/plugins/etcd.md):
//
//   <prefix>/<role>/<id>   the instance's JSON document (the SDK's, as
//                          nats-kv stores it), on the writer's lease
//   <prefix>.ids/<id>      the id's claim: the role it is registered
//                          under (one id, one role: rule B10), written in
//                          the same transaction as the instance, on the same
//                          lease; outside the instances' range, so a list
//                          of every role does not read it
//
// Roles and ids are checked by the SDK ([a-z][a-z0-9_-]*, UUIDs): neither
// holds a '/', so a key splits back into its role and id without doubt.
#pragma once

#include <muster/cpp/instance.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace etcd {

class Keys {
public:
    // `prefix` without a trailing '/', e.g. "/muster".
    explicit Keys(std::string prefix) : prefix_(std::move(prefix)) {}

    std::string instance(const std::string& role, const std::string& id) const {
        return prefix_ + "/" + role + "/" + id;
    }
    std::string claim(const std::string& id) const { return prefix_ + ".ids/" + id; }
    // The keys of one role, or of every role.
    std::string role_prefix(const std::string& role) const { return prefix_ + "/" + role + "/"; }
    std::string all_prefix() const { return prefix_ + "/"; }
    // Every byte that can follow role_prefix() or all_prefix() in an
    // instance's key, ascending (Kv::scan): an id's, or a role's, '/' and
    // an id's.
    static constexpr std::string_view kIdBytes = "-0123456789abcdef";
    static constexpr std::string_view kRoleAndIdBytes = "-/0123456789_abcdefghijklmnopqrstuvwxyz";

    // (role, id) of an instance key; nullopt for any other key.
    std::optional<std::pair<std::string, std::string>> parse(const std::string& key) const;
    // The instance document `value` stored under `key`, if it is one of
    // ours (a muster document whose role and id are the key's).
    std::optional<muster::sdk::Instance> document(const std::string& key, std::string_view value) const;

    // The end of the range of keys starting with `p` (etcd's prefix range:
    // its last byte plus one).
    static std::string range_end(std::string p);

private:
    std::string prefix_;
};

}  // namespace etcd
