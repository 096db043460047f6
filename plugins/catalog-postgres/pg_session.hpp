// One libpq connection with a hard deadline on every call, reconnection
// with exponential backoff, and the mapping of PostgreSQL errors to muster
// statuses. While the server is down, calls fail at once with UNAVAILABLE
// until the next reconnect attempt is due.
#pragma once

#include <muster/cpp/error.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace catalog_postgres {

// A result that frees itself.
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The URL or conninfo with any password replaced by ****, for messages.
std::string mask_password(const std::string& conninfo);

struct SessionConfig {
    std::string conninfo;  // a postgresql:// URL or key=value conninfo
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds statement_timeout{5000};
};

class Session {
public:
    // `on_connect` runs on each new connection (prepare statements, LISTEN);
    // it throws muster::sdk::Error to refuse the connection.
    Session(SessionConfig config, std::function<void(Session&)> on_connect);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Connects now if there is no connection; throws Error(UNAVAILABLE)
    // while the server cannot be reached (at once inside the backoff window).
    void ensure();

    // Runs a prepared statement with text parameters (nullptr = SQL NULL),
    // within the statement timeout. Throws Error with the mapped status.
    Result prepared(const char* name, const std::vector<const char*>& params);
    // The same, row by row (libpq's single-row mode): `row` gets a result
    // of one row as it arrives, and each row renews the deadline, so an
    // answer of any size completes while a silent server is given up on.
    // The server's statement_timeout is lifted for it: it would bound the
    // whole answer (the server waits for a slow reader inside the
    // statement), and the per-row deadline already bounds a silent one.
    void rows(const char* name, const std::vector<const char*>& params, const std::function<void(PGresult*)>& row);
    // Runs SQL without parameters (DDL, LISTEN, transactions). `limit`
    // replaces the statement timeout's client-side wait (0: keep it); the
    // caller raises the server's own with SET LOCAL statement_timeout.
    Result exec(const std::string& sql, std::chrono::milliseconds limit = {});
    void prepare(const char* name, const std::string& sql);

    PGconn* raw() const { return conn_; }
    // Drops the connection (after a failure), so the next call reconnects.
    void drop();

private:
    Result wait(const char* what, std::chrono::milliseconds limit = {});
    // The next result of the query in flight (nullptr once it is done),
    // within the statement timeout (or `limit`) from now.
    Result next(const char* what, std::chrono::milliseconds limit = {});
    // `r` if it is rows or success; otherwise throws its mapped status.
    Result checked(const char* what, Result r);
    [[noreturn]] void fail_connection(const std::string& what);

    SessionConfig config_;
    std::function<void(Session&)> on_connect_;
    PGconn* conn_ = nullptr;
    std::chrono::steady_clock::time_point next_attempt_{};
    std::chrono::milliseconds backoff_{0};
    std::string last_error_;
};

}  // namespace catalog_postgres
