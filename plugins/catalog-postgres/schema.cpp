#include "schema.hpp"

#include <iterator>

namespace catalog_postgres {

namespace {

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
    // 2: the change feed. Every transaction that changes what a watcher
    // sees of an instance appends (id, role) to `changes`, stamped with its
    // transaction id, from the triggers: whatever writes the table is in the
    // feed. A reader takes only rows of transactions below the oldest one
    // still open (pg_snapshot_xmin), so a transaction that commits late is
    // never behind its cursor. A heartbeat is not a change, except one that
    // brings back an instance silent for longer than feed.revive_gap (the
    // smallest ttl of the processes using the schema). Rows up to
    // feed.pruned_through are gone, and a TRUNCATE moves it: a reader
    // behind it re-lists. NOTIFY stays, as a wake-up.
    R"sql(
    CREATE TABLE {s}.changes (
        xid  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        at   timestamptz NOT NULL DEFAULT now(),
        id   uuid NOT NULL,
        role text NOT NULL
    );
    CREATE INDEX changes_xid ON {s}.changes (xid);
    CREATE TABLE {s}.feed (
        one            boolean PRIMARY KEY DEFAULT true CHECK (one),
        revive_gap     bigint NOT NULL,
        pruned_through xid8 NOT NULL
    );
    INSERT INTO {s}.feed VALUES (true, 9223372036854775807, pg_current_xact_id());
    CREATE FUNCTION {s}.revive_gap() RETURNS interval LANGUAGE sql STABLE AS
        $$ SELECT revive_gap * interval '1 millisecond' FROM {s}.feed $$;
    CREATE FUNCTION {s}.record_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.role IS DISTINCT FROM NEW.role) THEN
            INSERT INTO {s}.changes (id, role) VALUES (OLD.id, OLD.role);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO {s}.changes (id, role) VALUES (NEW.id, NEW.role);
        END IF;
        PERFORM pg_notify('{channel}', COALESCE(NEW.role, OLD.role));
        RETURN NULL;
    END $$;
    CREATE FUNCTION {s}.lose_changes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {s}.feed SET pruned_through = pg_current_xact_id();
        PERFORM pg_notify('{channel}', '');
        RETURN NULL;
    END $$;
    DROP TRIGGER instances_added_or_deleted ON {s}.instances;
    DROP TRIGGER instances_changed ON {s}.instances;
    DROP FUNCTION {s}.notify_change();
    CREATE TRIGGER instances_added_or_deleted AFTER INSERT OR DELETE ON {s}.instances
        FOR EACH ROW EXECUTE FUNCTION {s}.record_change();
    CREATE TRIGGER instances_changed AFTER UPDATE ON {s}.instances FOR EACH ROW
        WHEN (OLD.address IS DISTINCT FROM NEW.address OR OLD.metadata IS DISTINCT FROM NEW.metadata
              OR OLD.health IS DISTINCT FROM NEW.health OR OLD.stopped_at IS DISTINCT FROM NEW.stopped_at
              OR OLD.role IS DISTINCT FROM NEW.role OR NEW.last_seen - OLD.last_seen > {s}.revive_gap())
        EXECUTE FUNCTION {s}.record_change();
    CREATE TRIGGER instances_truncated AFTER TRUNCATE ON {s}.instances
        FOR EACH STATEMENT EXECUTE FUNCTION {s}.lose_changes();
    )sql",
};

constexpr int kLatest = static_cast<int>(std::size(migrations));

}  // namespace

std::string channel_for(const std::string& schema) { return "muster_" + schema; }

std::string with_schema(std::string sql, const std::string& schema) {
    for (auto p = sql.find("{s}"); p != std::string::npos; p = sql.find("{s}", p))
        sql.replace(p, 3, "\"" + schema + "\"");
    for (auto p = sql.find("{channel}"); p != std::string::npos; p = sql.find("{channel}", p))
        sql.replace(p, 9, channel_for(schema));
    return sql;
}

// Migrations may wait for another process's (the advisory lock) and run
// DDL on a server fresh from crash recovery: they get a longer limit than
// the statements of every day.
constexpr std::chrono::milliseconds kMigrationLimit{30000};

void migrate(Session& s, const std::string& schema) {
    // The common case, a current schema (every reconnect), needs neither
    // the lock nor a transaction.
    Result found =
        s.exec(with_schema("SELECT to_regclass('{s}.schema_version') IS NOT NULL AND "
                           "to_regclass('{s}.instances') IS NOT NULL",
                           schema));
    if (PQgetvalue(found.get(), 0, 0)[0] == 't') {
        Result v = s.exec(with_schema("SELECT version FROM {s}.schema_version", schema));
        if (PQntuples(v.get()) > 0 && std::atoi(PQgetvalue(v.get(), 0, 0)) == kLatest) return;
    }
    auto exec = [&](const std::string& sql) { return s.exec(sql, kMigrationLimit); };
    exec("BEGIN");
    try {
        exec("SET LOCAL statement_timeout = " + std::to_string(kMigrationLimit.count()));
        // One lock id for every muster schema: migrations are rare and short.
        exec("SELECT pg_advisory_xact_lock(7283945012)");
        exec(with_schema("CREATE SCHEMA IF NOT EXISTS {s}", schema));
        exec(with_schema("CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)", schema));
        Result r = exec(with_schema("SELECT version FROM {s}.schema_version", schema));
        int version = PQntuples(r.get()) > 0 ? std::atoi(PQgetvalue(r.get(), 0, 0)) : 0;
        if (PQntuples(r.get()) == 0) exec(with_schema("INSERT INTO {s}.schema_version VALUES (0)", schema));
        Result table = exec(with_schema("SELECT to_regclass('{s}.instances') IS NOT NULL", schema));
        if (version > 0 && version <= kLatest && PQgetvalue(table.get(), 0, 0)[0] != 't') {
            // The table was dropped under a current version: built again
            // from the start (the feed and trigger functions are left).
            exec(with_schema("DROP TABLE IF EXISTS {s}.changes, {s}.feed CASCADE", schema));
            for (const char* f : {"notify_change()", "record_change()", "lose_changes()", "revive_gap()"})
                exec(with_schema(std::string("DROP FUNCTION IF EXISTS {s}.") + f + " CASCADE", schema));
            version = 0;
        }
        if (version > kLatest)
            throw muster::sdk::Error(MUSTER_CONFLICT,
                                     "PostgreSQL schema '" + schema + "' has version " + std::to_string(version) +
                                         " but this catalog-postgres knows up to " + std::to_string(kLatest) +
                                         ": upgrade muster or use another schema");
        for (int v = version; v < kLatest; ++v) exec(with_schema(migrations[v], schema));
        if (version != kLatest)
            exec(with_schema("UPDATE {s}.schema_version SET version = " + std::to_string(kLatest), schema));
        exec("COMMIT");
    } catch (...) {
        if (s.raw()) PQclear(PQexec(s.raw(), "ROLLBACK"));
        throw;
    }
}

}  // namespace catalog_postgres
