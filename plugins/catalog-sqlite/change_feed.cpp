#include "change_feed.hpp"

#include "schema.hpp"

namespace catalog_sqlite {

namespace {

// A read names at most this many changes; a longer backlog (a bulk load)
// is cheaper re-listed than fetched instance by instance.
constexpr std::int64_t kMaxPerRead = 10000;

}  // namespace

ChangeFeed::ChangeFeed(std::string path, int busy_timeout_ms)
        : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {
    open();
}

void ChangeFeed::open() {
    since_.reset();
    end_.reset();
    db_ = std::make_unique<Db>(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy_timeout_ms_);
    db_->exec("PRAGMA journal_mode=WAL");
    migrate(*db_, path_);
    since_ = std::make_unique<Stmt>(*db_, "SELECT seq, role, id FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    // The feed's end: the newest sequence ever given (sqlite_sequence keeps
    // it after a prune) and how far pruning went.
    end_ = std::make_unique<Stmt>(
        *db_, "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0), pruned_through FROM feed");
    Transaction tx(*db_, "BEGIN");
    Stmt::Use use(*end_);
    use.step();
    cursor_ = use.int64(0);
}

FeedRead ChangeFeed::read() {
    FeedRead out;
    if (db_->has_moved()) {  // another file at the path: nothing in it continues our cursor
        open();
        out.lost = true;
        return out;
    }
    Transaction tx(*db_, "BEGIN");
    std::int64_t newest = 0, pruned = 0;
    {
        Stmt::Use use(*end_);
        use.step();
        newest = use.int64(0);
        pruned = use.int64(1);
    }
    if (pruned > cursor_ || newest - cursor_ > kMaxPerRead) {
        out.lost = true;
        cursor_ = newest;
        return out;
    }
    Stmt::Use use(*since_);
    use.bind(1, cursor_).bind(2, kMaxPerRead);
    while (use.step()) {
        cursor_ = use.int64(0);
        out.changes.emplace_back(use.text(1), use.text(2));
    }
    return out;
}

void prune_changes(Db& db, std::int64_t keep) {
    std::int64_t through = 0;
    {
        Stmt newest(db, "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0) - ?1");
        Stmt::Use use(newest);
        use.bind(1, keep);
        use.step();
        through = use.int64(0);
    }
    if (through <= 0) return;
    {
        Stmt del(db, "DELETE FROM changes WHERE seq <= ?1");
        Stmt::Use use(del);
        use.bind(1, through);
        use.step();
    }
    if (sqlite3_changes(db.get()) == 0) return;
    Stmt mark(db, "UPDATE feed SET pruned_through = MAX(pruned_through, ?1)");
    Stmt::Use use(mark);
    use.bind(1, through);
    use.step();
}

void claim_revive_gap(Db& db, std::int64_t ttl_ms) {
    Stmt st(db, "UPDATE feed SET revive_gap = ?1 WHERE revive_gap > ?1");
    Stmt::Use use(st);
    use.bind(1, ttl_ms);
    use.step();
}

}  // namespace catalog_sqlite
