#pragma once
// The state database schema as an ordered list of migrations. Migration N is a list of SQL
// statements applied in one transaction together with its schema_version row, so a crash
// mid-migration leaves the database at N-1, never in between.
#include <string_view>
#include <vector>

#include "store/sqlite.h"

namespace prov::schema {

struct Migration {
  int version = 0;
  std::vector<std::string_view> statements;
};

// Every migration this build knows, versions 1..N in order.
const std::vector<Migration>& migrations();
// The version a database has after migrate(db, migrations()).
int latest_version();

// The database's version: 0 for a new file (no schema_version table yet).
int read_version(sql::Database& db);

// Brings the database up to the last version in `list`, one transaction per migration. Throws
// StoreError when the database is newer than `list` knows (a newer build wrote it) or a
// statement fails (the failing migration is rolled back; earlier ones stay applied).
// Safe against another connection migrating the same file at the same time.
void migrate(sql::Database& db, const std::vector<Migration>& list);

}  // namespace prov::schema
