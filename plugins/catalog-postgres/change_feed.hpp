// catalog-postgres's change feed (the `changes` table, schema.cpp step 2),
// read from a cursor: the instances changed since the last read, so that
// watches cost what changed rather than the role's size.
//
// The cursor is a transaction id: every change of a transaction below it
// has been read. A read takes the rows of transactions between the cursor
// and the oldest transaction still open (pg_snapshot_xmin), all finished,
// and moves the cursor there. A sequence would not do: numbers are taken
// in one order and committed in another, and a reader past a number would
// skip a transaction that commits late.
#pragma once

#include "pg_session.hpp"

#include <string>
#include <utility>
#include <vector>

namespace catalog_postgres {

// What one read of the feed found.
struct FeedRead {
    // (role, id) of each change; order does not matter, the hub reads the
    // instances' current state.
    std::vector<std::pair<std::string, std::string>> changes;
    // Changes were lost to this reader (pruned or truncated before it read
    // them, more than one read holds, or another server): re-list.
    bool lost = false;
    // Changes of transactions still open were left for a later read: read
    // again soon (they commit without another notification).
    bool held_back = false;
};

class ChangeFeed {
public:
    // Prepares the statements the feed uses, on each connection that reads
    // it.
    static void prepare(Session& s, const std::string& schema);

    // The cursor starts at the feed's end as `s` sees it now: the reader's
    // owner lists what exists after.
    explicit ChangeFeed(Session& s);

    // Every change committed since the last read. Throws muster::sdk::Error
    // when the server fails.
    FeedRead read(Session& s);

private:
    std::string cursor_;  // an xid8, as text
};

// The changes a feed keeps: a reader away for longer re-lists.
inline constexpr std::int64_t kKeptChangesMs = 600000;

// Deletes the changes older than `keep_ms` and records how far it went.
void prune_changes(Session& s, std::int64_t keep_ms);

// Records that this process calls an instance silent for `ttl_ms` gone, so
// that a heartbeat after a longer silence is in the feed. The schema keeps
// the smallest ttl any process gave it.
void claim_revive_gap(Session& s, std::int64_t ttl_ms);

}  // namespace catalog_postgres
