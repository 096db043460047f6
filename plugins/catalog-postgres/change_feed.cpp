#include "change_feed.hpp"

#include "schema.hpp"

namespace catalog_postgres {

namespace {

// A read names at most this many changes; a longer backlog (a bulk load)
// is cheaper re-listed than fetched instance by instance.
constexpr int kMaxPerRead = 10000;

}  // namespace

void ChangeFeed::prepare(Session& s, const std::string& schema) {
    s.prepare("feed_end", "SELECT pg_snapshot_xmin(pg_current_snapshot())::text");
    // One statement, one snapshot: the bound, whether this reader lost
    // changes, whether some wait on open transactions (max(xid): one step
    // down the index, where a range test would scan the table), and the
    // rows.
    s.prepare(
        "feed_read",
        with_schema("WITH b AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS upto, pruned_through FROM {s}.feed) "
                    "SELECT b.upto::text, (b.pruned_through >= $1::xid8 OR b.upto < $1::xid8), "
                    "COALESCE((SELECT max(xid) FROM {s}.changes) >= b.upto, false), c.role, c.id::text "
                    "FROM b LEFT JOIN LATERAL (SELECT role, id FROM {s}.changes "
                    "WHERE xid >= $1::xid8 AND xid < b.upto LIMIT " +
                        std::to_string(kMaxPerRead + 1) + ") c ON true",
                    schema));
    s.prepare(
        "feed_prune",
        with_schema("WITH gone AS (DELETE FROM {s}.changes WHERE at < now() - $1::bigint * interval '1 millisecond' "
                    "RETURNING xid), "
                    "marked AS (UPDATE {s}.feed SET pruned_through = GREATEST(pruned_through, "
                    "(SELECT max(xid) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone)) "
                    "SELECT 1",
                    schema));
    s.prepare("feed_revive_gap", with_schema("UPDATE {s}.feed SET revive_gap = $1 WHERE revive_gap > $1", schema));
}

ChangeFeed::ChangeFeed(Session& s) {
    Result r = s.prepared("feed_end", {});
    cursor_ = PQgetvalue(r.get(), 0, 0);
}

FeedRead ChangeFeed::read(Session& s) {
    Result r = s.prepared("feed_read", {cursor_.c_str()});
    FeedRead out;
    int n = PQntuples(r.get());
    if (n == 0) return out;  // no feed row: the schema is being built again
    std::string upto = PQgetvalue(r.get(), 0, 0);
    out.lost = PQgetvalue(r.get(), 0, 1)[0] == 't' || n > kMaxPerRead;
    out.held_back = PQgetvalue(r.get(), 0, 2)[0] == 't';
    cursor_ = upto;
    if (out.lost) return out;
    for (int i = 0; i < n; ++i)
        if (!PQgetisnull(r.get(), i, 4)) out.changes.emplace_back(PQgetvalue(r.get(), i, 3), PQgetvalue(r.get(), i, 4));
    return out;
}

void prune_changes(Session& s, std::int64_t keep_ms) {
    std::string keep = std::to_string(keep_ms);
    s.prepared("feed_prune", {keep.c_str()});
}

void claim_revive_gap(Session& s, std::int64_t ttl_ms) {
    std::string ttl = std::to_string(ttl_ms);
    s.prepared("feed_revive_gap", {ttl.c_str()});
}

}  // namespace catalog_postgres
