// catalog-sqlite's change feed (the `changes` table, schema.cpp step 2):
// read from a cursor, it names each instance changed since the last read,
// in commit order, so watches cost what changed rather than the role's
// size. SQLite commits one writer at a time, so sequence order is commit
// order and no committed change is ever behind the cursor.
#pragma once

#include "sqlite_db.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace catalog_sqlite {

// What one read of the feed found.
struct FeedRead {
    // (role, id) of each change, oldest first.
    std::vector<std::pair<std::string, std::string>> changes;
    // Changes were lost to this reader (pruned before it read them, more
    // than one read holds, or the file was replaced): re-list.
    bool lost = false;
};

// A reader of the feed on a connection of its own. One thread at a time.
class ChangeFeed {
public:
    // Opens `path` (migrating it if needed); the cursor starts at the
    // feed's end: the reader's owner lists what exists first.
    ChangeFeed(std::string path, int busy_timeout_ms);

    // Every change committed since the last read. Throws
    // muster::sdk::Error when the file cannot be read.
    FeedRead read();

private:
    void open();

    std::string path_;
    int busy_timeout_ms_;
    std::unique_ptr<Db> db_;
    std::unique_ptr<Stmt> since_, end_;
    std::int64_t cursor_ = 0;
};

// The changes a feed keeps: older rows are pruned by prune_changes.
inline constexpr std::int64_t kKeptChanges = 100000;

// Deletes all but the newest `keep` changes and records how far it went,
// inside the caller's write transaction on `db`.
void prune_changes(Db& db, std::int64_t keep);

// Records that this process calls an instance silent for `ttl_ms` gone,
// so that a heartbeat after a longer silence is in the feed. The file
// keeps the smallest ttl any process gave it.
void claim_revive_gap(Db& db, std::int64_t ttl_ms);

}  // namespace catalog_sqlite
