// The catalog-postgres schema and its versioned migrations. docs/plugins/
// catalog-postgres.md describes the tables.
#pragma once

#include "pg_session.hpp"

#include <string>

namespace catalog_postgres {

// The channel the trigger notifies and the watch listens on.
std::string channel_for(const std::string& schema);

// `sql` with every "{s}" replaced by the (validated, quoted) schema and
// "{channel}" by its channel. The schema is configuration, never user
// data; every role, id, address and metadata value travels as a statement
// parameter.
std::string with_schema(std::string sql, const std::string& schema);

// Creates or migrates `schema` under a transaction-scoped advisory lock, so
// that processes starting together migrate once. Throws Error(CONFLICT) for
// a schema migrated by a newer version.
void migrate(Session& s, const std::string& schema);

}  // namespace catalog_postgres
