// A thin RAII layer over sqlite3: a connection, prepared statements, and
// the mapping of SQLite result codes to muster statuses.
#pragma once

#include <muster/cpp/error.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace catalog_sqlite {

// BUSY/LOCKED: another process holds the lock past the busy timeout, a
// retry may work. CANTOPEN/READONLY/IOERR/FULL/PERM: the file cannot be used,
// the chain should try the next backend. Anything else is a bug or damage.
inline muster_status status_of(int rc) {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return MUSTER_TRY_AGAIN;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PERM:
    case SQLITE_AUTH: return MUSTER_UNAVAILABLE;
    default: return MUSTER_INTERNAL;
    }
}

class Db {
public:
    Db(const std::string& path, int flags, int busy_timeout_ms) {
        int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            sqlite3_close(db_);
            db_ = nullptr;
            throw muster::sdk::Error(status_of(rc), "cannot open SQLite database '" + path + "': " + msg);
        }
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, busy_timeout_ms);
    }
    ~Db() { sqlite3_close(db_); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    sqlite3* get() const { return db_; }

    // True when the file this connection has open is no longer at its path
    // (deleted, or replaced by another file): writes through it would go
    // to a file no other process sees.
    bool has_moved() const {
        int moved = 0;
        return sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0;
    }

    // Runs SQL without results; throws muster::sdk::Error on failure.
    void exec(const char* sql) {
        char* msg = nullptr;
        int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
        if (rc != SQLITE_OK) {
            std::string text = msg ? msg : sqlite3_errstr(rc);
            sqlite3_free(msg);
            throw muster::sdk::Error(status_of(rc), "SQLite: " + text);
        }
    }

    [[noreturn]] void fail(int rc) const {
        throw muster::sdk::Error(status_of(rc), std::string("SQLite: ") + sqlite3_errmsg(db_));
    }

private:
    sqlite3* db_ = nullptr;
};

// A prepared statement, reset after each use by Use.
class Stmt {
public:
    Stmt(Db& db, const char* sql) : db_(db) {
        int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
        if (rc != SQLITE_OK) db.fail(rc);
    }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    // Binds, steps and resets one use of the statement.
    class Use {
    public:
        explicit Use(Stmt& st) : st_(st) {}
        ~Use() {
            sqlite3_reset(st_.s_);
            sqlite3_clear_bindings(st_.s_);
        }
        Use& bind(int i, const std::string& v) {
            return check(sqlite3_bind_text(st_.s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        }
        Use& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(st_.s_, i, v)); }
        // true: a row is ready; false: done.
        bool step() {
            int rc = sqlite3_step(st_.s_);
            if (rc == SQLITE_ROW) return true;
            if (rc == SQLITE_DONE) return false;
            st_.db_.fail(rc);
        }
        std::string text(int col) const {
            auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_.s_, col));
            return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st_.s_, col))) : std::string();
        }
        std::int64_t int64(int col) const { return sqlite3_column_int64(st_.s_, col); }

    private:
        Use& check(int rc) {
            if (rc != SQLITE_OK) st_.db_.fail(rc);
            return *this;
        }
        Stmt& st_;
    };

private:
    Db& db_;
    sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT (a write), or BEGIN ... COMMIT with `begin`
// "BEGIN" (reads that must agree), rolled back if not committed.
class Transaction {
public:
    explicit Transaction(Db& db, const char* begin = "BEGIN IMMEDIATE") : db_(db) { db_.exec(begin); }
    ~Transaction() {
        if (!done_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
        db_.exec("COMMIT");
        done_ = true;
    }

private:
    Db& db_;
    bool done_ = false;
};

}  // namespace catalog_sqlite
