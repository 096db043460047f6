// The catalog-sqlite schema and its migrations, versioned by PRAGMA
// user_version. docs/plugins/catalog-sqlite.md describes the tables.
#pragma once

#include "sqlite_db.hpp"

namespace catalog_sqlite {

// Brings the database to the newest schema this plugin knows, inside one
// IMMEDIATE transaction so that processes starting together migrate once.
// Throws Error(CONFLICT) for a database written by a newer schema.
void migrate(Db& db, const std::string& path);

}  // namespace catalog_sqlite
