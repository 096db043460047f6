// The ordered backends of a registry, and the policy that routes each call
// through them: reads go to the first link that answers, writes to every
// link. UNAVAILABLE and TRY_AGAIN move a read on to the next link; what an
// empty answer does is the link's action (NSS's [NOTFOUND=return]).
// Circuit breakers and recovery hook in per link (see docs/chain.md).
#pragma once

#include <muster/core/backend_client.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace muster::core {

struct Link {
    std::shared_ptr<BackendClient> backend;
    // An empty answer from this link is final (true) or moves on (false).
    bool return_on_empty = true;
};

// What a read answered and who answered it.
struct ChainRead {
    Outcome outcome;
    std::vector<sdk::Instance> instances;
    std::string backend;  // the link that answered; empty if none did
};

// Per-link state shown by `muster-host status`.
struct LinkStatus {
    std::string name;
    std::string state;       // "up" or "failing"
    std::string last_error;  // masked; empty if none
    std::int64_t last_success_ms = 0;  // wall clock; 0 = never
};

class Chain {
public:
    explicit Chain(std::vector<Link> links);

    const std::vector<Link>& links() const { return links_; }

    ChainRead list(const std::string* role, std::uint32_t flags);
    // Writes go to every link; OK when at least one link took the write.
    // A refusal of the input (INVALID_ARGUMENT, CONFLICT) is returned as is.
    Outcome register_instance(const sdk::Instance& instance);
    // results: per id, OK if any link knew the id, else NOT_FOUND.
    Outcome heartbeat(const std::vector<std::string>& ids, std::vector<muster_status>& results);
    Outcome deregister(const std::string& id);
    Outcome reap(std::int64_t retain_ms, std::uint64_t& removed);

    // The first link that can watch, or nullptr.
    std::shared_ptr<BackendClient> watch_source() const;

    std::vector<LinkStatus> status() const;

private:
    static bool moves_on(muster_status s) { return s == MUSTER_UNAVAILABLE || s == MUSTER_TRY_AGAIN; }
    void record(std::size_t i, const Outcome& o);
    template <class Call>
    Outcome write_all(Call&& call);

    std::vector<Link> links_;
    mutable std::mutex mu_;
    std::vector<LinkStatus> status_;
};

}  // namespace muster::core
