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
