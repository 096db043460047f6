#include "schema.hpp"

#include <iterator>
#include <string>

namespace catalog_sqlite {

namespace {

// migrations[i] takes a database from user_version i to i + 1. Append only:
// a shipped step never changes.
constexpr const char* migrations[] = {
    // 1: the seed's catalog (id, address, last_seen, stopped_at) plus role,
    // metadata (a JSON object), registered_at and health. Times are ms since
    // the Unix epoch; NULL stopped_at means running.
    R"sql(
    CREATE TABLE instances (
        id            TEXT PRIMARY KEY,
        role          TEXT NOT NULL,
        address       TEXT NOT NULL,
        metadata      TEXT NOT NULL DEFAULT '{}',
        health        INTEGER NOT NULL DEFAULT 0,
        registered_at INTEGER NOT NULL,
        last_seen     INTEGER NOT NULL,
        stopped_at    INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX instances_role ON instances(role, id);
    )sql",
    // 2: the change feed. Every commit that changes what a watcher sees of
    // an instance appends (id, role) to `changes`, in the same transaction,
    // from triggers: whatever writes the table (another version of muster,
    // the sqlite3 shell) is in the feed. A heartbeat is not a change, except
    // one that brings back an instance silent for longer than
    // feed.revive_gap (the smallest ttl of the processes using the file).
    // Rows up to feed.pruned_through are gone: a reader behind it re-lists.
    R"sql(
    CREATE TABLE changes (
        seq  INTEGER PRIMARY KEY AUTOINCREMENT,
        id   TEXT NOT NULL,
        role TEXT NOT NULL
    );
    CREATE TABLE feed (
        one            INTEGER PRIMARY KEY CHECK (one = 1),
        revive_gap     INTEGER NOT NULL,
        pruned_through INTEGER NOT NULL
    );
    INSERT INTO feed VALUES (1, 9223372036854775807, 0);
    CREATE TRIGGER instances_added AFTER INSERT ON instances BEGIN
        INSERT INTO changes (id, role) VALUES (new.id, new.role);
    END;
    CREATE TRIGGER instances_changed AFTER UPDATE ON instances
    WHEN old.address IS NOT new.address OR old.metadata IS NOT new.metadata OR old.health IS NOT new.health
      OR old.stopped_at IS NOT new.stopped_at OR old.role IS NOT new.role
      OR new.last_seen - old.last_seen > (SELECT revive_gap FROM feed)
    BEGIN
        INSERT INTO changes (id, role) VALUES (new.id, new.role);
        INSERT INTO changes (id, role) SELECT old.id, old.role WHERE old.role IS NOT new.role;
    END;
    CREATE TRIGGER instances_removed AFTER DELETE ON instances BEGIN
        INSERT INTO changes (id, role) VALUES (old.id, old.role);
    END;
    )sql",
};

constexpr int kLatest = static_cast<int>(std::size(migrations));

int user_version(Db& db) {
    Stmt st(db, "PRAGMA user_version");
    Stmt::Use use(st);
    use.step();
    return static_cast<int>(use.int64(0));
}

}  // namespace

void migrate(Db& db, const std::string& path) {
    Transaction tx(db);
    int version = user_version(db);
    if (version > kLatest)
        throw muster::sdk::Error(MUSTER_CONFLICT, "SQLite database '" + path + "' has schema version " +
                                                      std::to_string(version) +
                                                      " but this catalog-sqlite knows up to " +
                                                      std::to_string(kLatest) + ": upgrade muster or use another file");
    for (int v = version; v < kLatest; ++v) db.exec(migrations[v]);
    if (version != kLatest) db.exec(("PRAGMA user_version = " + std::to_string(kLatest)).c_str());
    tx.commit();
}

}  // namespace catalog_sqlite
