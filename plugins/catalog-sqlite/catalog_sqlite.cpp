// catalog-sqlite: the registry in a SQLite file, shared safely by every
// process on the machine (WAL mode, busy timeout, IMMEDIATE transactions).
#include "change_detector.hpp"
#include "change_feed.hpp"
#include "schema.hpp"
#include "sqlite_db.hpp"

#include <muster/cpp/backend.hpp>
#include <muster/cpp/json_document.hpp>
#include <muster/cpp/option_spec.hpp>
#include <muster/cpp/watch_hub.hpp>

#include <nlohmann/json.hpp>

#include <mutex>
#include <optional>
#include <span>
#include <thread>

namespace catalog_sqlite {
namespace {

using muster::sdk::Error;
using muster::sdk::Instance;

constexpr const char* kColumns = "id, role, address, metadata, health, registered_at, last_seen, stopped_at";

std::string metadata_json(const Instance& in) { return nlohmann::json(in.metadata).dump(); }

Instance row_to_instance(const Stmt::Use& row) {
    Instance i;
    i.id = row.text(0);
    i.role = row.text(1);
    i.address = row.text(2);
    auto metadata = muster::sdk::decode_metadata(row.text(3));
    if (!metadata) throw Error(MUSTER_INTERNAL, "the metadata of " + i.id + " is not a JSON object of strings");
    i.metadata = std::move(*metadata);
    i.health = static_cast<muster_health>(row.int64(4));
    i.registered_at_ms = row.int64(5);
    i.last_seen_ms = row.int64(6);
    i.stopped_at_ms = row.int64(7);
    return i;
}

// One connection and its prepared statements. SQLite connections are not
// to be shared between threads without a lock, so each user of one (the
// callers, the watch hub) has its own.
struct Connection {
    Connection(const std::string& path, int busy_ms, const std::string& synchronous)
            : db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy_ms) {
        db.exec("PRAGMA journal_mode=WAL");
        db.exec(("PRAGMA synchronous=" + synchronous).c_str());
    }
    void prepare() {
        list_role = std::make_unique<Stmt>(
            db, (std::string("SELECT ") + kColumns +
                 " FROM instances WHERE role = ?1 "
                 "AND (?2 OR stopped_at IS NULL) AND (?3 OR stopped_at IS NOT NULL OR last_seen >= ?4) ORDER BY id")
                    .c_str());
        list_all = std::make_unique<Stmt>(
            db, (std::string("SELECT ") + kColumns +
                 " FROM instances WHERE "
                 "(?2 OR stopped_at IS NULL) AND (?3 OR stopped_at IS NOT NULL OR last_seen >= ?4) ORDER BY id")
                    .c_str());
        by_id =
            std::make_unique<Stmt>(db, (std::string("SELECT ") + kColumns + " FROM instances WHERE id = ?1").c_str());
    }
    Db db;
    std::unique_ptr<Stmt> list_role, list_all, by_id;
};

class CatalogSqlite : public muster::sdk::Backend {
public:
    static constexpr const char* kName = MUSTER_PLUGIN_NAME;  // muster_add_plugin(... NAME ...)
    static constexpr const char* kDescription = "registry in a SQLite file shared by the processes of one machine";
    static constexpr std::uint64_t kCapabilities =
        MUSTER_BACKEND_CAP_WATCH | MUSTER_BACKEND_CAP_SHARED | MUSTER_BACKEND_CAP_REAP;
    static std::span<const muster_option_spec> options() {
        static const muster_option_spec specs[] = {
            muster::sdk::string_option("path", "database file; created with its schema if missing")
                .defaults_to("muster.db"),
            muster::sdk::duration_option("busy_timeout",
                                         "how long a write waits for another process's lock before 'try again'")
                .defaults_to("5s"),
            muster::sdk::string_option("synchronous",
                                       "PRAGMA synchronous: NORMAL (fast, safe in WAL) or FULL (survives power loss)")
                .defaults_to("NORMAL"),
            muster::sdk::duration_option("poll", "slow poll for commits when inotify is silent").defaults_to("1s"),
        };
        return specs;
    }

    explicit CatalogSqlite(const muster::sdk::BackendContext& ctx)
            : host_(ctx.host),
              ttl_ms_(ctx.ttl_ms),
              path_(ctx.options.get("path", "muster.db")),
              busy_ms_(static_cast<int>(ctx.options.get_duration_ms("busy_timeout", 5000))),
              synchronous_(ctx.options.get("synchronous", "NORMAL")) {
        if (synchronous_ != "NORMAL" && synchronous_ != "FULL")
            throw Error(MUSTER_INVALID_ARGUMENT, "option 'synchronous' must be NORMAL or FULL");
        writer_ = open_migrated();
        prepare_writes();
        claim_revive_gap(writer_->db, ttl_ms_);
        auto poll = std::chrono::milliseconds(ctx.options.get_duration_ms("poll", 1000));
        feed_ = std::make_unique<ChangeFeed>(path_, busy_ms_);  // its cursor before any list the hub makes
        hub_reader_ = open_migrated();
        hub_ = std::make_unique<muster::sdk::WatchHub>(
            [this](muster::sdk::RoleFilter role) {
                follow_hub_file();
                return muster::sdk::watch_view(collect(*hub_reader_, role, MUSTER_LIST_INCLUDE_STOPPED), host_.now_ms(),
                                               ttl_ms_);
            },
            [this](std::span<const std::string> ids) { return fetch(ids); },
            // The feed names every change, and the hub reads again only
            // the instances due to expire: a re-list of the roles is a
            // safety net, rare. A role of 100,000 is not read while
            // nothing happens.
            std::chrono::milliseconds(600000), [this] { return host_.now_ms(); }, ttl_ms_);
        detector_ =
            std::make_unique<ChangeDetector>(path_, busy_ms_, static_cast<int>(poll.count()), [this] { tell_hub(); });
    }

    ~CatalogSqlite() override {
        detector_.reset();  // stops poking before the hub goes
        hub_.reset();
    }

    void register_instance(const Instance& in) override {
        std::lock_guard lk(mu_);
        follow_file();
        Transaction tx(writer_->db);
        {
            Stmt::Use use(*upsert_);
            use.bind(1, in.id)
                .bind(2, in.role)
                .bind(3, in.address)
                .bind(4, metadata_json(in))
                .bind(5, static_cast<std::int64_t>(in.health))
                .bind(6, host_.now_ms());
            use.step();
        }
        if (sqlite3_changes(writer_->db.get()) == 0) {
            Stmt::Use use(*role_of_);
            use.bind(1, in.id);
            std::string other = use.step() ? use.text(0) : "?";
            throw Error(MUSTER_CONFLICT, "id " + in.id + " is registered under role '" + other + "'");
        }
        tx.commit();
    }

    // One transaction for a whole batch: that is where SQLite is fast.
    // One id: one autocommitted statement.
    void heartbeat(std::span<const std::string_view> ids, std::span<muster_status> results) override {
        std::lock_guard lk(mu_);
        follow_file();
        std::int64_t now = host_.now_ms();
        std::optional<Transaction> tx;
        if (ids.size() > 1) tx.emplace(writer_->db);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            Stmt::Use use(*touch_);
            use.bind(1, std::string(ids[i])).bind(2, now);
            use.step();
            results[i] = sqlite3_changes(writer_->db.get()) > 0 ? MUSTER_OK : MUSTER_NOT_FOUND;
        }
        if (tx) tx->commit();
    }

    void deregister(std::string_view id) override {
        std::lock_guard lk(mu_);
        follow_file();
        Stmt::Use use(*stop_);
        use.bind(1, std::string(id)).bind(2, host_.now_ms());
        use.step();
        if (sqlite3_changes(writer_->db.get()) == 0)
            throw Error(MUSTER_NOT_FOUND, "no instance with id " + std::string(id));
    }

    void list(muster::sdk::RoleFilter role, std::uint32_t flags,
              const std::function<bool(const Instance&)>& sink) override {
        // Each row goes to the sink as it is read: the host sees a big
        // answer arriving, not a silent store (docs/chain.md).
        std::lock_guard lk(mu_);
        follow_file();
        each(*writer_, role, flags, sink);
    }

    std::uint64_t reap(std::int64_t retain_ms) override {
        std::lock_guard lk(mu_);
        follow_file();
        std::int64_t now = host_.now_ms();
        Transaction tx(writer_->db);
        std::uint64_t reaped = 0;
        {
            Stmt::Use use(*reap_);
            use.bind(1, now - retain_ms).bind(2, now - ttl_ms_ - retain_ms);
            use.step();
            reaped = static_cast<std::uint64_t>(sqlite3_changes(writer_->db.get()));
        }
        prune_changes(writer_->db, kKeptChanges);
        tx.commit();
        return reaped;
    }

    std::unique_ptr<muster::sdk::Watch> watch(muster::sdk::RoleFilter role, muster::sdk::WatchSink sink) override {
        return hub_->add(role, sink);
    }

private:
    // A connection with the schema in place. Switching to WAL and migrating
    // can meet SQLITE_BUSY without the busy handler being asked (several
    // processes opening a new file at once): retry until the busy timeout
    // has passed.
    std::unique_ptr<Connection> open_migrated() {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_ms_);
        for (int attempt = 1;; ++attempt) {
            try {
                auto c = std::make_unique<Connection>(path_, busy_ms_, synchronous_);
                migrate(c->db, path_);
                c->prepare();
                return c;
            } catch (const Error& e) {
                if (e.status() != MUSTER_TRY_AGAIN || std::chrono::steady_clock::now() > deadline) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 * attempt, 100)));
            }
        }
    }

    // The writer's statements, on the writer's connection.
    void prepare_writes() {
        upsert_ = std::make_unique<Stmt>(
            writer_->db,
            "INSERT INTO instances (id, role, address, metadata, health, registered_at, last_seen, stopped_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, NULL) "
            "ON CONFLICT(id) DO UPDATE SET address = excluded.address, metadata = excluded.metadata, "
            "health = excluded.health, last_seen = excluded.last_seen, stopped_at = NULL WHERE role = excluded.role");
        role_of_ = std::make_unique<Stmt>(writer_->db, "SELECT role FROM instances WHERE id = ?1");
        touch_ = std::make_unique<Stmt>(writer_->db,
                                        "UPDATE instances SET last_seen = ?2 WHERE id = ?1 AND stopped_at IS NULL");
        stop_ = std::make_unique<Stmt>(writer_->db,
                                       "UPDATE instances SET stopped_at = COALESCE(stopped_at, ?2) WHERE id = ?1");
        reap_ = std::make_unique<Stmt>(writer_->db,
                                       "DELETE FROM instances WHERE (stopped_at IS NOT NULL AND stopped_at < ?1) "
                                       "OR (stopped_at IS NULL AND last_seen < ?2)");
    }

    // A database file deleted (or replaced) under a running process would
    // take its writes where no other process looks: at most every 100 ms a
    // call checks, and a moved file is opened again at its path (created
    // with its schema if missing). The heartbeat that follows answers
    // NOT_FOUND for what the new file lacks, and the chain writes it again.
    // Called with mu_ held.
    void follow_file() {
        auto now = std::chrono::steady_clock::now();
        if (now < next_file_check_) return;
        next_file_check_ = now + std::chrono::milliseconds(100);
        if (!writer_->db.has_moved()) return;
        host_.log(MUSTER_LOG_WARN,
                  "catalog-sqlite: database '" + path_ + "' was deleted or replaced; opening it again");
        upsert_.reset();
        role_of_.reset();
        touch_.reset();
        stop_.reset();
        reap_.reset();
        writer_ = open_migrated();
        prepare_writes();
    }

    // The hub's own connection follows a database file that was deleted and
    // created again, like the writer's. Hub thread only.
    void follow_hub_file() {
        if (hub_reader_->db.has_moved()) hub_reader_ = open_migrated();
    }

    // The hub's fetcher: what the file keeps of each id, in one read
    // transaction. Hub thread only.
    std::vector<Instance> fetch(std::span<const std::string> ids) {
        follow_hub_file();
        std::vector<Instance> out;
        Transaction tx(hub_reader_->db, "BEGIN");
        for (const auto& id : ids) {
            Stmt::Use use(*hub_reader_->by_id);
            use.bind(1, id);
            if (use.step()) out.push_back(row_to_instance(use));
        }
        return out;
    }

    // After a commit: the hub hears which instances changed, or to re-list
    // when the feed cannot say. Detector thread only.
    void tell_hub() {
        try {
            FeedRead r = feed_->read();
            if (r.lost) hub_->poke();
            for (const auto& [role, id] : r.changes) hub_->poke(role, id);
        } catch (const Error&) {
            hub_->poke();  // the hub's list meets the same failure and reports it
        }
    }

    // The rows of `role`, one at a time, until `sink` says stop.
    void each(Connection& c, muster::sdk::RoleFilter role, std::uint32_t flags,
              const std::function<bool(const Instance&)>& sink) {
        Stmt::Use use(role ? *c.list_role : *c.list_all);
        if (role) use.bind(1, std::string(*role));
        use.bind(2, static_cast<std::int64_t>((flags & MUSTER_LIST_INCLUDE_STOPPED) != 0))
            .bind(3, static_cast<std::int64_t>((flags & MUSTER_LIST_INCLUDE_STALE) != 0))
            .bind(4, host_.now_ms() - ttl_ms_);
        while (use.step())
            if (!sink(row_to_instance(use))) return;
    }

    std::vector<Instance> collect(Connection& c, muster::sdk::RoleFilter role, std::uint32_t flags) {
        std::vector<Instance> out;
        each(c, role, flags, [&](const Instance& i) {
            out.push_back(i);
            return true;
        });
        return out;
    }

    muster::sdk::Host host_;
    std::int64_t ttl_ms_;
    std::string path_;
    int busy_ms_;
    std::string synchronous_;
    std::mutex mu_;  // guards writer_ and its statements
    std::unique_ptr<Connection> writer_;
    std::unique_ptr<Stmt> upsert_, role_of_, touch_, stop_, reap_;
    std::chrono::steady_clock::time_point next_file_check_{};
    std::unique_ptr<ChangeFeed> feed_;        // used by the detector thread only
    std::unique_ptr<Connection> hub_reader_;  // used by the hub thread only
    std::unique_ptr<muster::sdk::WatchHub> hub_;
    std::unique_ptr<ChangeDetector> detector_;
};

}  // namespace
}  // namespace catalog_sqlite

MUSTER_EXPORT_BACKEND(catalog_sqlite::CatalogSqlite, "1.0.0")
