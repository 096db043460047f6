// catalog-postgres: the registry in PostgreSQL, for processes spread over
// machines. Every time is the server's (now()), so clock skew between hosts
// never expires a live instance nor keeps a dead one; every value travels as
// a statement parameter; watches ride LISTEN/NOTIFY on their own connection.
#include "change_feed.hpp"
#include "listener.hpp"
#include "pg_session.hpp"
#include "schema.hpp"

#include <muster/cpp/backend.hpp>
#include <muster/cpp/clock.hpp>
#include <muster/cpp/json_document.hpp>
#include <muster/cpp/option_spec.hpp>
#include <muster/cpp/watch_hub.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <set>

namespace catalog_postgres {
namespace {

using muster::sdk::Error;
using muster::sdk::Instance;

std::string ms(const char* column) { return std::string("(extract(epoch from ") + column + ") * 1000)::bigint"; }

// The columns row_to_instance reads, then the server's clock.
std::string instance_columns() {
    return "SELECT id, role, address, metadata::text, health, " + ms("registered_at") + ", " + ms("last_seen") +
           ", COALESCE(" + ms("stopped_at") + ", 0), " + ms("now()") + " FROM {s}.instances ";
}

// The SELECT of a list, with or without a role condition. $1 role, $2
// include stopped, $3 include stale, $4 ttl in ms. No ORDER BY: a sort
// would hold back the first row until every row is read, and rows stream
// to the host as the scan finds them (docs/chain.md, Deadlines and hangs).
std::string list_sql(bool by_role) {
    return instance_columns() + "WHERE " + (by_role ? "role = $1 AND " : "$1::text IS NULL AND ") +
           "($2::boolean OR stopped_at IS NULL) AND ($3::boolean OR stopped_at IS NOT NULL OR "
           "last_seen >= now() - $4::bigint * interval '1 millisecond')";
}

// `ids` as a uuid[] parameter's text, {a,b,...}. The ids are validated
// UUIDs (the host's, or the feed's own column): nothing to quote.
template <class Id>
std::string uuid_array(std::span<const Id> ids) {
    std::string out = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) (out += i ? "," : "") += ids[i];
    return out += "}";
}

Instance row_to_instance(PGresult* r, int row) {
    auto v = [&](int col) { return PQgetvalue(r, row, col); };
    Instance i;
    i.id = v(0);
    i.role = v(1);
    i.address = v(2);
    auto metadata = muster::sdk::decode_metadata(v(3));
    if (!metadata) throw Error(MUSTER_INTERNAL, "the metadata of " + i.id + " is not a JSON object of strings");
    i.metadata = std::move(*metadata);
    i.health = static_cast<muster_health>(std::atoi(v(4)));
    i.registered_at_ms = std::atoll(v(5));
    i.last_seen_ms = std::atoll(v(6));
    i.stopped_at_ms = std::atoll(v(7));
    return i;
}

class CatalogPostgres : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "registry in PostgreSQL, shared by processes on many machines";
    static constexpr std::uint64_t kCapabilities = MUSTER_BACKEND_CAP_WATCH | MUSTER_BACKEND_CAP_SHARED |
                                                   MUSTER_BACKEND_CAP_REAP | MUSTER_BACKEND_CAP_SERVER_CLOCK;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option(
                "url",
                "postgresql:// URL or conninfo (sslmode, sslrootcert, sslcert, sslkey accepted); the password may "
                "also come from PGPASSWORD or ~/.pgpass")
                .required(),
            muster::sdk::string_option("schema", "schema holding the tables").defaults_to("muster"),
            muster::sdk::duration_option("connect_timeout",
                                         "how long a connection attempt may take (whole seconds, at least 2)")
                .defaults_to("5s"),
            muster::sdk::duration_option("statement_timeout",
                                         "longest wait for any statement; past it the call fails with 'unavailable'")
                .defaults_to("5s"),
            muster::sdk::duration_option("poll", "how often watches read the change feed without a notification")
                .defaults_to("1s"),
        };
        return specs;
    }

    explicit CatalogPostgres(const muster::sdk::BackendContext& ctx)
            : host_(ctx.host), ttl_ms_(ctx.ttl_ms), schema_(ctx.options.get("schema", "muster")) {
        bool ok =
            !schema_.empty() && schema_.size() <= 40 && (schema_[0] == '_' || (schema_[0] >= 'a' && schema_[0] <= 'z'));
        for (char c : schema_) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
        if (!ok) throw Error(MUSTER_INVALID_ARGUMENT, "option 'schema' must match [a-z_][a-z0-9_]{0,39}");
        SessionConfig cfg{ctx.options.get("url"),
                          std::chrono::milliseconds(ctx.options.get_duration_ms("connect_timeout", 5000)),
                          std::chrono::milliseconds(ctx.options.get_duration_ms("statement_timeout", 5000))};
        session_ = std::make_unique<Session>(cfg, [this](Session& s) { on_connect(s); });
        {
            std::lock_guard lk(mu_);
            session_->ensure();  // a bad URL or password is reported at start
        }
        auto poll = std::chrono::milliseconds(ctx.options.get_duration_ms("poll", 1000));
        {
            std::lock_guard lk(mu_);
            claim_revive_gap(*session_, ttl_ms_);
            feed_ = std::make_unique<ChangeFeed>(*session_);  // its cursor before any list the hub makes
        }
        hub_ = std::make_unique<muster::sdk::WatchHub>(
            [this](muster::sdk::RoleFilter role) {
                return muster::sdk::watch_view(collect(role, MUSTER_LIST_INCLUDE_STOPPED),
                                               muster::sdk::system_ms() + clock_offset_ms_.load(), ttl_ms_);
            },
            [this](std::span<const std::string> ids) { return fetch(ids); },
            // The feed names every change, and the hub reads again only
            // the instances due to expire: a re-list of the roles is a
            // safety net, rare.
            std::chrono::milliseconds(600000), [this] { return muster::sdk::system_ms() + clock_offset_ms_.load(); },
            ttl_ms_);
        listener_ = std::make_unique<Listener>(
            cfg, channel_for(schema_), poll, [this](Session& s) { ChangeFeed::prepare(s, schema_); },
            [this](Session* s) { return tell_hub(s); });
    }

    ~CatalogPostgres() override {
        listener_.reset();
        hub_.reset();
    }

    void register_instance(const Instance& in) override {
        std::string meta = nlohmann::json(in.metadata).dump(), health = std::to_string(in.health);
        std::lock_guard lk(mu_);
        Result r = session_->prepared(
            "upsert", {in.id.c_str(), in.role.c_str(), in.address.c_str(), meta.c_str(), health.c_str()});
        if (PQntuples(r.get()) == 0) {
            Result other = session_->prepared("role_of", {in.id.c_str()});
            std::string role = PQntuples(other.get()) ? PQgetvalue(other.get(), 0, 0) : "?";
            throw Error(MUSTER_CONFLICT, "id " + in.id + " is registered under role '" + role + "'");
        }
    }

    // One round trip for the whole batch: UPDATE ... WHERE id = ANY($1).
    void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) override {
        std::string array = uuid_array(ids);
        std::string one = ids.size() == 1 ? std::string(ids[0]) : std::string();
        std::set<std::string> seen;
        {
            std::lock_guard lk(mu_);
            // A single id takes the plain "id = $1" plan.
            Result r = ids.size() == 1 ? session_->prepared("heartbeat_one", {one.c_str()})
                                       : session_->prepared("heartbeat", {array.c_str()});
            for (int i = 0; i < PQntuples(r.get()); ++i) seen.insert(PQgetvalue(r.get(), i, 0));
        }
        for (std::size_t i = 0; i < ids.size(); ++i)
            results[i] = seen.count(std::string(ids[i])) ? MUSTER_OK : MUSTER_NOT_FOUND;
    }

    void deregister(std::string_view id) override {
        std::string key(id);
        std::lock_guard lk(mu_);
        Result r = session_->prepared("deregister", {key.c_str()});
        if (PQntuples(r.get()) == 0) throw Error(MUSTER_NOT_FOUND, "no instance with id " + key);
    }

    void list(muster::sdk::RoleFilter role, std::uint32_t flags,
              const std::function<bool(const Instance&)>& sink) override {
        each(role, flags, sink);
    }

    std::uint64_t reap(std::int64_t retain_ms) override {
        std::string retain = std::to_string(retain_ms), stale = std::to_string(ttl_ms_ + retain_ms);
        std::lock_guard lk(mu_);
        Result r = session_->prepared("reap", {retain.c_str(), stale.c_str()});
        prune_changes(*session_, kKeptChangesMs);
        return std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
    }

    std::unique_ptr<muster::sdk::Watch> watch(muster::sdk::RoleFilter role, muster::sdk::WatchSink sink) override {
        return hub_->add(role, sink);
    }

private:
    // Runs on every new connection: migrate (cheap when current), prepare.
    void on_connect(Session& s) {
        migrate(s, schema_);
        auto prep = [&](const char* name, const std::string& sql) { s.prepare(name, with_schema(sql, schema_)); };
        prep("upsert",
             "INSERT INTO {s}.instances (id, role, address, metadata, health) VALUES ($1::uuid, $2, $3, $4::jsonb, "
             "$5::smallint) "
             "ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, metadata = EXCLUDED.metadata, "
             "health = EXCLUDED.health, last_seen = now(), stopped_at = NULL WHERE {s}.instances.role = EXCLUDED.role "
             "RETURNING 1");
        prep("role_of", "SELECT role FROM {s}.instances WHERE id = $1::uuid");
        prep("heartbeat",
             "UPDATE {s}.instances SET last_seen = now() WHERE id = ANY($1::uuid[]) AND stopped_at IS NULL RETURNING "
             "id");
        prep("heartbeat_one",
             "UPDATE {s}.instances SET last_seen = now() WHERE id = $1::uuid AND stopped_at IS NULL RETURNING id");
        prep("deregister",
             "UPDATE {s}.instances SET stopped_at = COALESCE(stopped_at, now()) WHERE id = $1::uuid RETURNING 1");
        prep("reap",
             "DELETE FROM {s}.instances WHERE (stopped_at IS NOT NULL AND stopped_at < now() - $1::bigint * interval "
             "'1 millisecond') "
             "OR (stopped_at IS NULL AND last_seen < now() - $2::bigint * interval '1 millisecond')");
        prep("list_role", list_sql(true));
        prep("list_all", list_sql(false));
        prep("by_ids", instance_columns() + "WHERE id = ANY($1::uuid[])");
        ChangeFeed::prepare(s, schema_);
    }

    // The hub's fetcher: what the schema keeps of each id, one round trip.
    std::vector<Instance> fetch(std::span<const std::string> ids) {
        std::string array = uuid_array(ids);
        std::vector<Instance> out;
        std::lock_guard lk(mu_);
        Result r = session_->prepared("by_ids", {array.c_str()});
        for (int row = 0; row < PQntuples(r.get()); ++row) out.push_back(row_to_instance(r.get(), row));
        if (PQntuples(r.get()) > 0) clock_offset_ms_ = std::atoll(PQgetvalue(r.get(), 0, 8)) - muster::sdk::system_ms();
        return out;
    }

    // After a notification, a reconnect or a poll: the hub hears which
    // instances changed, or to re-list when the feed cannot say. Returns
    // true when changes wait on open transactions. Listener thread only.
    bool tell_hub(Session* s) {
        if (!s) {
            hub_->poke();  // the connection is lost: the hub's list reports it
            return false;
        }
        try {
            FeedRead r = feed_->read(*s);
            if (r.lost) hub_->poke();
            for (const auto& [role, id] : r.changes) hub_->poke(role, id);
            return r.held_back;
        } catch (const Error&) {
            hub_->poke();
            return false;
        }
    }

    // The rows of `role` as they arrive, each to `sink` (the host sees a
    // big answer arriving, not a silent store); the rest are read and
    // dropped once it says stop.
    void each(muster::sdk::RoleFilter role, std::uint32_t flags, const std::function<bool(const Instance&)>& sink) {
        std::string ttl = std::to_string(ttl_ms_);
        const char* stopped = (flags & MUSTER_LIST_INCLUDE_STOPPED) ? "true" : "false";
        const char* stale = (flags & MUSTER_LIST_INCLUDE_STALE) ? "true" : "false";
        std::string role_text = role ? std::string(*role) : std::string();
        bool more = true, first = true;
        std::lock_guard lk(mu_);
        session_->rows(role ? "list_role" : "list_all",
                       {role ? role_text.c_str() : nullptr, stopped, stale, ttl.c_str()}, [&](PGresult* r) {
                           if (first) clock_offset_ms_ = std::atoll(PQgetvalue(r, 0, 8)) - muster::sdk::system_ms();
                           first = false;
                           if (more) more = sink(row_to_instance(r, 0));
                       });
    }

    std::vector<Instance> collect(muster::sdk::RoleFilter role, std::uint32_t flags) {
        std::vector<Instance> out;
        each(role, flags, [&](const Instance& i) {
            out.push_back(i);
            return true;
        });
        return out;
    }

    muster::sdk::Host host_;
    std::int64_t ttl_ms_;
    std::string schema_;
    std::mutex mu_;  // guards session_
    std::unique_ptr<Session> session_;
    // Server clock minus ours, so the watch hub wakes when the server says an
    // instance expires.
    std::atomic<std::int64_t> clock_offset_ms_{0};
    std::unique_ptr<ChangeFeed> feed_;  // read by the listener thread only
    std::unique_ptr<muster::sdk::WatchHub> hub_;
    std::unique_ptr<Listener> listener_;
};

}  // namespace
}  // namespace catalog_postgres

MUSTER_EXPORT_BACKEND(catalog_postgres::CatalogPostgres, "1.0.0")
