#include "pg_session.hpp"

#include <poll.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace catalog_postgres {

using muster::sdk::Error;

namespace {

// SQLSTATE classes: 08 connection, 57P0x shutdown/crash, 53 resources -> the
// store is not usable now; 42P01/3F000 (our table or schema is gone:
// dropped, or a database restored without it) -> unavailable, and the
// reconnect that follows creates them again; 40 serialization/deadlock,
// 55P03 lock -> retry; 23505 unique -> conflict; 22/42 -> our bug or a bad
// value.
muster_status status_of(const char* sqlstate) {
    std::string s = sqlstate ? sqlstate : "";
    if (s.rfind("08", 0) == 0 || s.rfind("57P", 0) == 0 || s.rfind("53", 0) == 0 || s == "57014" || s == "42P01" ||
        s == "3F000")
        return MUSTER_UNAVAILABLE;
    if (s.rfind("40", 0) == 0 || s == "55P03") return MUSTER_TRY_AGAIN;
    if (s == "23505") return MUSTER_CONFLICT;
    return MUSTER_INTERNAL;
}

std::string first_line(const char* text) {
    std::string s = text ? text : "";
    auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

std::string mask_password(const std::string& c) {
    std::string out = c;
    // URL form: scheme://user:password@host
    if (auto scheme = out.find("://"); scheme != std::string::npos) {
        auto at = out.find('@', scheme + 3);
        auto colon = out.find(':', scheme + 3);
        if (at != std::string::npos && colon != std::string::npos && colon < at)
            out.replace(colon + 1, at - colon - 1, "****");
        // ...and a password= query parameter.
        for (auto p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
            auto end = out.find('&', p);
            out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "****");
        }
        return out;
    }
    // key=value form.
    for (auto p = out.find("password"); p != std::string::npos; p = out.find("password", p + 1)) {
        auto eq = out.find('=', p);
        if (eq == std::string::npos) break;
        auto v = out.find_first_not_of(' ', eq + 1);
        if (v == std::string::npos) break;
        auto end = out[v] == '\'' ? out.find('\'', v + 1) + 1 : out.find(' ', v);
        out.replace(v, (end == std::string::npos || end == 0 ? out.size() : end) - v, "****");
    }
    return out;
}

Session::Session(SessionConfig config, std::function<void(Session&)> on_connect)
        : config_(std::move(config)), on_connect_(std::move(on_connect)) {}

Session::~Session() { drop(); }

void Session::drop() {
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
}

[[noreturn]] void Session::fail_connection(const std::string& what) {
    drop();
    last_error_ = what;
    thread_local std::mt19937 rng{std::random_device{}()};
    backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(5000));
    auto jitter = std::uniform_int_distribution<long>(0, backoff_.count() / 4)(rng);
    next_attempt_ = std::chrono::steady_clock::now() + backoff_ + std::chrono::milliseconds(jitter);
    throw Error(MUSTER_UNAVAILABLE, "PostgreSQL " + mask_password(config_.conninfo) + ": " + what);
}

void Session::ensure() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return;
    drop();
    if (std::chrono::steady_clock::now() < next_attempt_)
        throw Error(MUSTER_UNAVAILABLE, "PostgreSQL " + mask_password(config_.conninfo) + " is down (" + last_error_ +
                                            "); reconnecting with backoff");
    // libpq takes whole seconds, at least 2.
    auto secs = std::max<long>(2, static_cast<long>((config_.connect_timeout.count() + 999) / 1000));
    std::string timeout = std::to_string(secs);
    const char* keys[] = {
        "dbname",           "connect_timeout",  "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "application_name", nullptr};
    const char* values[] = {config_.conninfo.c_str(), timeout.c_str(), "1", "5", "2", "2", "muster", nullptr};
    conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK)
        fail_connection(first_line(conn_ ? PQerrorMessage(conn_) : "out of memory"));
    if (PQsetnonblocking(conn_, 0) != 0) fail_connection("cannot set blocking mode");
    // Server notices (e.g. "terminating connection") would go to stderr; the
    // failures they announce reach the caller as statuses instead.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    exec("SET statement_timeout = " + std::to_string(config_.statement_timeout.count()));
    exec("SET client_min_messages = warning");  // no NOTICE chatter on stderr
    try {
        on_connect_(*this);
    } catch (const Error& e) {
        if (e.status() == MUSTER_UNAVAILABLE) fail_connection(e.what());
        drop();
        throw;
    }
    backoff_ = std::chrono::milliseconds(0);
}

Result Session::next(const char* what, std::chrono::milliseconds limit) {
    // The server's statement_timeout bounds the query; this deadline also
    // bounds a dead network, which the server cannot see.
    if (limit.count() == 0) limit = config_.statement_timeout;
    auto deadline = std::chrono::steady_clock::now() + limit + std::chrono::milliseconds(500);
    while (PQisBusy(conn_)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) fail_connection(std::string(what) + ": no answer within the statement timeout");
        pollfd p{PQsocket(conn_), POLLIN, 0};
        int rc = poll(&p, 1, static_cast<int>(left.count()));
        if (rc < 0 && errno != EINTR) fail_connection(std::string(what) + ": poll failed");
        if (rc > 0 && !PQconsumeInput(conn_)) fail_connection(first_line(PQerrorMessage(conn_)));
    }
    return Result(PQgetResult(conn_), &PQclear);
}

Result Session::checked(const char* what, Result r) {
    if (!r) fail_connection(std::string(what) + ": no result");
    auto st = PQresultStatus(r.get());
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE) return r;
    // Whatever else the query sends is of no use now.
    while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);
    if (PQstatus(conn_) != CONNECTION_OK) fail_connection(first_line(PQresultErrorMessage(r.get())));
    muster_status status = status_of(PQresultErrorField(r.get(), PG_DIAG_SQLSTATE));
    std::string msg = std::string(what) + ": " + first_line(PQresultErrorMessage(r.get()));
    if (status == MUSTER_UNAVAILABLE) fail_connection(msg);
    throw Error(status, msg);
}

Result Session::wait(const char* what, std::chrono::milliseconds limit) {
    Result last(nullptr, &PQclear);
    while (Result r = next(what, limit)) last = std::move(r);
    return checked(what, std::move(last));
}

void Session::rows(const char* name, const std::vector<const char*>& params,
                   const std::function<void(PGresult*)>& row) {
    ensure();
    exec("SET statement_timeout = 0");
    // Put back after the rows; a failure that dropped the connection needs
    // nothing (a new one starts with the configured timeout).
    struct Restore {
        Session& s;
        ~Restore() {
            if (!s.conn_) return;
            try {
                s.exec("SET statement_timeout = " + std::to_string(s.config_.statement_timeout.count()));
            } catch (const Error&) {  // dropped the connection: the next call reconnects
            }
        }
    } restore{*this};
    if (!PQsendQueryPrepared(conn_, name, static_cast<int>(params.size()), params.data(), nullptr, nullptr, 0))
        fail_connection(first_line(PQerrorMessage(conn_)));
    if (!PQsetSingleRowMode(conn_)) fail_connection(std::string(name) + ": cannot read row by row");
    // Each row gets a full deadline: a big answer arriving is no dead network.
    while (Result r = next(name)) {
        r = checked(name, std::move(r));
        if (PQresultStatus(r.get()) != PGRES_SINGLE_TUPLE) continue;  // the end of the rows
        try {
            row(r.get());
        } catch (...) {
            drop();  // the rest of the answer is still on its way: no query can follow it
            throw;
        }
    }
}

Result Session::prepared(const char* name, const std::vector<const char*>& params) {
    ensure();
    if (!PQsendQueryPrepared(conn_, name, static_cast<int>(params.size()), params.data(), nullptr, nullptr, 0))
        fail_connection(first_line(PQerrorMessage(conn_)));
    return wait(name);
}

Result Session::exec(const std::string& sql, std::chrono::milliseconds limit) {
    if (!conn_) ensure();
    if (!PQsendQuery(conn_, sql.c_str())) fail_connection(first_line(PQerrorMessage(conn_)));
    return wait("query", limit);
}

void Session::prepare(const char* name, const std::string& sql) {
    if (!PQsendPrepare(conn_, name, sql.c_str(), 0, nullptr)) fail_connection(first_line(PQerrorMessage(conn_)));
    wait(name);
}

}  // namespace catalog_postgres
