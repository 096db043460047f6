#include "schema.hpp"

#include <iterator>

namespace catalog_postgres {

namespace {

// Replaces every "{s}" by the (validated, quoted) schema and "{channel}" by
// the channel name. The schema is configuration, never user data; every
// role, id, address and metadata value travels as a statement parameter.
std::string expand(std::string sql, const std::string& schema) {
    for (auto p = sql.find("{s}"); p != std::string::npos; p = sql.find("{s}", p))
        sql.replace(p, 3, "\"" + schema + "\"");
    for (auto p = sql.find("{channel}"); p != std::string::npos; p = sql.find("{channel}", p))
        sql.replace(p, 9, channel_for(schema));
    return sql;
}

// migrations[i] takes the schema from version i to i + 1. Append only.
constexpr const char* migrations[] = {
    // 1: instances (the seed's columns plus role, metadata, registered_at,
    // health), times on the server's clock, and a trigger that notifies
    // watchers of every change but heartbeats.
    R"sql(
    CREATE TABLE {s}.instances (
        id            uuid PRIMARY KEY,
        role          text NOT NULL,
        address       text NOT NULL,
        metadata      jsonb NOT NULL DEFAULT '{}',
        health        smallint NOT NULL DEFAULT 0,
        registered_at timestamptz NOT NULL DEFAULT now(),
        last_seen     timestamptz NOT NULL DEFAULT now(),
        stopped_at    timestamptz
    );
    CREATE INDEX instances_role ON {s}.instances (role, id);
    CREATE FUNCTION {s}.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{channel}', COALESCE(NEW.role, OLD.role));
        RETURN NULL;
    END $$;
    CREATE TRIGGER instances_added_or_deleted AFTER INSERT OR DELETE ON {s}.instances
        FOR EACH ROW EXECUTE FUNCTION {s}.notify_change();
    CREATE TRIGGER instances_changed AFTER UPDATE ON {s}.instances FOR EACH ROW
        WHEN (OLD.address IS DISTINCT FROM NEW.address OR OLD.metadata IS DISTINCT FROM NEW.metadata
              OR OLD.health IS DISTINCT FROM NEW.health OR OLD.stopped_at IS DISTINCT FROM NEW.stopped_at
              OR OLD.role IS DISTINCT FROM NEW.role)
        EXECUTE FUNCTION {s}.notify_change();
    )sql",
};

constexpr int kLatest = static_cast<int>(std::size(migrations));

}  // namespace

std::string channel_for(const std::string& schema) { return "muster_" + schema; }

// Migrations may wait for another process's (the advisory lock) and run
// DDL on a server fresh from crash recovery: they get a longer limit than
// the statements of every day.
constexpr std::chrono::milliseconds kMigrationLimit{30000};

void migrate(Session& s, const std::string& schema) {
    // The common case, a current schema (every reconnect), needs neither
    // the lock nor a transaction.
    Result found =
        s.exec(expand("SELECT to_regclass('{s}.schema_version') IS NOT NULL AND "
                      "to_regclass('{s}.instances') IS NOT NULL",
                      schema));
    if (PQgetvalue(found.get(), 0, 0)[0] == 't') {
        Result v = s.exec(expand("SELECT version FROM {s}.schema_version", schema));
        if (PQntuples(v.get()) > 0 && std::atoi(PQgetvalue(v.get(), 0, 0)) == kLatest) return;
    }
    auto exec = [&](const std::string& sql) { return s.exec(sql, kMigrationLimit); };
    exec("BEGIN");
    try {
        exec("SET LOCAL statement_timeout = " + std::to_string(kMigrationLimit.count()));
        // One lock id for every muster schema: migrations are rare and short.
        exec("SELECT pg_advisory_xact_lock(7283945012)");
        exec(expand("CREATE SCHEMA IF NOT EXISTS {s}", schema));
        exec(expand("CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)", schema));
        Result r = exec(expand("SELECT version FROM {s}.schema_version", schema));
        int version = PQntuples(r.get()) > 0 ? std::atoi(PQgetvalue(r.get(), 0, 0)) : 0;
        if (PQntuples(r.get()) == 0) exec(expand("INSERT INTO {s}.schema_version VALUES (0)", schema));
        Result table = exec(expand("SELECT to_regclass('{s}.instances') IS NOT NULL", schema));
        if (version > 0 && version <= kLatest && PQgetvalue(table.get(), 0, 0)[0] != 't') {
            // The table was dropped under a current version: built again
            // from the start (its trigger function is all that is left).
            exec(expand("DROP FUNCTION IF EXISTS {s}.notify_change() CASCADE", schema));
            version = 0;
        }
        if (version > kLatest)
            throw muster::sdk::Error(MUSTER_CONFLICT,
                                     "PostgreSQL schema '" + schema + "' has version " + std::to_string(version) +
                                         " but this catalog-postgres knows up to " + std::to_string(kLatest) +
                                         ": upgrade muster or use another schema");
        for (int v = version; v < kLatest; ++v) exec(expand(migrations[v], schema));
        if (version != kLatest)
            exec(expand("UPDATE {s}.schema_version SET version = " + std::to_string(kLatest), schema));
        exec("COMMIT");
    } catch (...) {
        if (s.raw()) PQclear(PQexec(s.raw(), "ROLLBACK"));
        throw;
    }
}

}  // namespace catalog_postgres
