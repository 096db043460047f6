// C++ helpers for the muster ABI: what a watch has told its watcher of
// each live instance, without keeping the instances (the watcher holds them
// already, and a role of 100,000 would be held twice): a digest of each
// one's content (a change is a different digest), when it is due to expire
// unless seen again, the store's revision of what was told, and its role
// (so a REMOVED the store can no longer describe still names it).
// WatchHub keeps one per watched role; stores with a watch of their own
// (nats-kv, etcd) keep one per watch.
//
// Liveness: an instance is live while now - last_seen <= ttl, so it is due
// at last_seen + ttl + 1.
//
// Not thread-safe: one watch thread owns it.
#pragma once

#include <muster/backend.h>
#include <muster/cpp/instance.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muster::sdk {

class KnownInstances {
public:
    struct Known {
        std::uint64_t content = 0;
        std::int64_t last_seen_ms = 0;
        std::uint64_t revision = 0;         // the store's, of what was told; 0: the store has none
        const std::string* role = nullptr;  // interned here, each role once
    };

    // What a fresh read found of one live instance.
    struct Seen {
        const Instance* instance = nullptr;
        std::uint64_t revision = 0;
    };

    // `ttl_ms` <= 0: nothing is ever due.
    explicit KnownInstances(std::int64_t ttl_ms) : ttl_ms_(ttl_ms) {}
    // Its entries point into itself.
    KnownInstances(const KnownInstances&) = delete;
    KnownInstances& operator=(const KnownInstances&) = delete;

    const Known* find(const std::string& id) const {
        auto it = known_.find(id);
        return it == known_.end() ? nullptr : &it->second;
    }
    std::size_t size() const { return known_.size(); }

    // Records the live instance `i` as told, and returns what its watcher
    // must hear: ADDED (unknown until now), CHANGED (another content), or
    // nothing (the same content: a heartbeat, which only moves its due time).
    std::optional<muster_event_type> see(const Instance& i, std::uint64_t revision = 0) {
        std::uint64_t content = i.content_digest();
        auto it = known_.find(i.id);
        if (it == known_.end()) {
            remember(i, content, revision);
            return MUSTER_EVENT_ADDED;
        }
        bool changed = it->second.content != content || *it->second.role != i.role;
        untrack(it->first, it->second);
        it->second.content = content;
        it->second.last_seen_ms = i.last_seen_ms;
        it->second.revision = revision;
        if (*it->second.role != i.role) it->second.role = intern(i.role);
        track(it->first, it->second);
        if (changed) return MUSTER_EVENT_CHANGED;
        return std::nullopt;
    }

    // Forgets `id` and returns the REMOVED to tell of it (its id and role,
    // and `stopped_at_ms` when the store says it was stopped); nullopt when
    // it was not known.
    std::optional<Instance> forget(const std::string& id, std::int64_t stopped_at_ms = 0) {
        auto it = known_.find(id);
        if (it == known_.end()) return std::nullopt;
        Instance removed = removed_only(id, *it->second.role, stopped_at_ms);
        untrack(it->first, it->second);
        known_.erase(it);
        return removed;
    }

    // The ids due at `now_ms` (seen last more than ttl ago), earliest first.
    std::vector<std::string> due(std::int64_t now_ms) const {
        std::vector<std::string> out;
        for (auto it = due_.begin(); it != due_.end() && it->first <= now_ms; ++it) out.push_back(*it->second);
        return out;
    }
    // When the next instance is due; 0 when none ever is.
    std::int64_t next_due() const { return due_.empty() ? 0 : due_.begin()->first; }

    // Replaces what is known with a fresh read of the store (`live`, by id),
    // telling `tell(type, instance)` the differences as sdk::diff orders
    // them: REMOVED first, described by `removed(id, role)` (an Instance:
    // the store may know it stopped), then ADDED and CHANGED by id.
    template <class Removed, class Tell>
    void replace(const std::map<std::string_view, Seen>& live, Removed&& removed, Tell&& tell) {
        for (const auto& [id, k] : known_)
            if (!live.count(id)) tell(MUSTER_EVENT_REMOVED, removed(id, *k.role));
        std::vector<std::uint64_t> digests;  // each instance hashed once
        digests.reserve(live.size());
        for (const auto& [id, seen] : live) {
            digests.push_back(seen.instance->content_digest());
            auto k = known_.find(id);
            if (k == known_.end())
                tell(MUSTER_EVENT_ADDED, *seen.instance);
            else if (k->second.content != digests.back())
                tell(MUSTER_EVENT_CHANGED, *seen.instance);
        }
        clear();
        std::size_t n = 0;
        for (const auto& [id, seen] : live) remember(*seen.instance, digests[n++], seen.revision);
    }

    void clear() {
        known_.clear();
        due_.clear();
        roles_.clear();
    }

private:
    const std::string* intern(const std::string& role) { return &*roles_.insert(role).first; }

    void remember(const Instance& i, std::uint64_t content, std::uint64_t revision) {
        auto it = known_.insert_or_assign(i.id, Known{content, i.last_seen_ms, revision, intern(i.role)}).first;
        track(it->first, it->second);
    }
    void track(const std::string& id, const Known& k) {
        if (ttl_ms_ > 0) due_.emplace(k.last_seen_ms + ttl_ms_ + 1, &id);
    }
    void untrack(const std::string& id, const Known& k) {
        if (ttl_ms_ > 0) due_.erase({k.last_seen_ms + ttl_ms_ + 1, &id});
    }

    std::int64_t ttl_ms_;
    std::map<std::string, Known, std::less<>> known_;  // live instances by id
    std::set<std::string, std::less<>> roles_;         // the roles known_ names, each once
    // (due time, id) of each known instance; the pointers are known_'s keys
    // (stable in a std::map).
    std::set<std::pair<std::int64_t, const std::string*>> due_;
};

}  // namespace muster::sdk
