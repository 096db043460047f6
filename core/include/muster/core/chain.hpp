// The ordered backends of a registry, and the policy that routes each call
// through them (docs/chain.md): reads go to the first link that answers,
// writes to every link that is up (or to the first that answers).
// UNAVAILABLE and TRY_AGAIN move a read on to the next link; what an empty
// answer does is the link's action (NSS's [NOTFOUND=return]). Each link has
// a circuit breaker, and a list of the ids it may be out of date about (a
// write it missed, a heartbeat it did not know). A prober thread retries
// open links and, before one serves again, has the owner of the
// registrations write them all back (anti-entropy), settle those ids and
// the stops other links recorded while it was away; on a link that is up,
// it settles them as they come. Every call into a link runs on that link's
// LinkRunner with a deadline: a hung store costs a read read_timeout and a
// write write_timeout, writes go to the links in parallel, and a link whose
// call hangs past its deadline opens its breaker.
#pragma once

#include <muster/core/backend_client.hpp>
#include <muster/core/breaker.hpp>
#include <muster/core/link_runner.hpp>
#include <muster/core/stop_signal.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace muster::core {

class Ownership;

struct Link {
    // Prepared or created; one not created yet is created on its first call
    // (a store away at start-up joins the chain when it comes).
    std::shared_ptr<BackendClient> backend;
    // An empty answer from this link is final (true: [NOTFOUND=return]) or
    // moves on to the next link (false: [NOTFOUND=continue], the default).
    bool return_on_empty = false;
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
    Breaker::State state = Breaker::State::closed;  // the breaker (Breaker::name: its text)
    std::string last_error;                         // masked; empty if none
    std::int64_t last_success_ms = 0;               // wall clock; 0 = never
    std::size_t pending = 0;                        // ids it is out of date about
    Breaker::Counts counts;                         // calls, failures and breaker transitions so far
    std::uint64_t heartbeats = 0;                   // heartbeat calls (of a batch of ids) the link took
    std::uint64_t heartbeat_failures = 0;
};

enum class WriteMode { all, first };

struct ChainOptions {
    WriteMode write = WriteMode::all;
    BreakerOptions breaker;
    std::chrono::milliseconds probe_interval{100};
    // How long a caller waits for one link: a read then moves on to the
    // next link, a write counts the link as missed (settled later).
    std::chrono::milliseconds read_timeout{250};
    std::chrono::milliseconds write_timeout{1000};
    // A link that answered no call for this long gets a probe read, so a
    // store that stops answering opens its breaker even while idle. 0: off.
    std::chrono::milliseconds keepalive{500};
};

class Chain {
public:
    explicit Chain(std::vector<Link> links, ChainOptions options = {});
    ~Chain();
    Chain(const Chain&) = delete;
    Chain& operator=(const Chain&) = delete;

    // One call into a link, run on its LinkRunner within the write
    // deadline. The function may outlive the caller: it owns what it uses.
    using LinkCall = std::function<Outcome(std::function<Outcome(BackendClient&)>)>;
    // Makes `owner` the registrations this chain writes back to a link that
    // missed them (Ownership::reconcile): a chain serves one Registry,
    // which adopts it. Throws sdk::Error CONFLICT when another owner is
    // still alive. The chain does not keep the owner alive; without one,
    // missed writes are not remembered.
    void adopt(const std::shared_ptr<const Ownership>& owner);

    // A failure seen outside a call (a watch's ERROR event) counts against
    // the link's breaker like a failed call.
    void report_failure(const BackendClient& backend, const std::string& why);

    const std::vector<Link>& links() const { return links_; }
    // Names the links in order: "nats-kv, catalog-sqlite".
    std::string names() const;

    // Creates every link not created yet, in parallel, waiting at most
    // `wait` for them: one outcome per link (UNAVAILABLE "no answer
    // within" for one still connecting). A link that failed or is still
    // connecting starts with its breaker open, so no call waits for it; it
    // is created, written back and settled when a probe finds it up.
    std::vector<Outcome> open_all(std::chrono::milliseconds wait);

    ChainRead list(const std::string* role, std::uint32_t flags);
    // One probe read of link i (a role nobody registers), within the read
    // deadline, whatever its breaker says: is the store answering now?
    Outcome probe(std::size_t i);
    // Writes go to every link; OK when at least one link took the write.
    // A refusal of the input (INVALID_ARGUMENT, CONFLICT) is returned as is.
    // A link that misses a register or deregister is settled later.
    Outcome register_instance(const sdk::Instance& instance);
    // An id a link answers NOT_FOUND for is settled on that link (written
    // again while it is owned).
    Outcome heartbeat(const std::vector<std::string>& ids);
    Outcome deregister(const std::string& id);
    Outcome reap(std::int64_t retain_ms, std::uint64_t& removed);

    // The ids of `role` listed live by any link whose breaker is closed;
    // nullopt when none answered. The mass-removal guard asks it.
    std::optional<std::set<std::string>> live_anywhere(const std::string* role);

    // The link to watch `role` (nullptr: every role) on: a read-only link
    // that holds it, wherever it stands, else the first created link that
    // holds it and can watch, its breaker closed; nullptr (poll through the
    // chain) when that read-only link is down, or for every role when a
    // read-only link holds roles of its own (one link's watch would miss
    // them).
    std::shared_ptr<BackendClient> watch_source(const std::string* role) const;

    std::vector<LinkStatus> status() const;

    // The statuses that say "this link is down, try the next": they move a
    // read on and count against the link's breaker.
    static bool moves_on(muster_status s) {
        return s == MUSTER_UNAVAILABLE || s == MUSTER_TRY_AGAIN || s == MUSTER_INTERNAL;
    }

private:
    struct LinkState;
    enum class Lane { read, write };
    // A call on link i's runner of that lane; `fn` owns what it uses.
    using Call = std::function<Outcome(BackendClient&)>;
    std::shared_ptr<LinkRunner::Task> start(std::size_t i, Lane lane, Call fn, std::chrono::milliseconds limit);
    Outcome call(std::size_t i, Lane lane, Call fn, std::chrono::milliseconds limit);
    // Link i's breaker is closed.
    bool closed(std::size_t i) const;
    // Link i's breaker is closed, or every link's is open (then all are tried).
    bool usable(std::size_t i) const;
    Outcome list_link(std::size_t i, const std::string* role, std::uint32_t flags, std::vector<sdk::Instance>& out);
    void record(std::size_t i, const Outcome& o);
    void remember(std::size_t i, const std::string& id);
    Outcome write(const std::function<Outcome(BackendClient&, std::size_t)>& fn, const std::string* id = nullptr);
    Outcome after_write(std::size_t i, const Outcome& o, const std::string* id);
    void prober(std::size_t i);
    Outcome settle(std::size_t i, const std::set<std::string>* ids);
    Outcome settle_tombstones(std::size_t i, std::size_t& found);
    bool recover(std::size_t i);
    void keep_alive(std::size_t i);
    void settle_pending(std::size_t i);

    std::vector<Link> links_;
    ChainOptions options_;
    std::vector<std::unique_ptr<LinkState>> state_;
    std::mutex owner_mu_;  // guards owner_
    std::weak_ptr<const Ownership> owner_;
    StopSignal stop_;
};

}  // namespace muster::core
