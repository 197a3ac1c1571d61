// Keeping a database's schema at the version this graphene understands.
// PRAGMA user_version holds a database's schema version: 0 for an empty
// database, then the version its schema was created or last migrated at.
#pragma once

#include <span>
#include <string_view>

#include "base/status.h"
#include "store/sqlite.h"

namespace graphene {

// One step of the schema's history: `sql` takes a database from version
// `from` to `from + 1`.
struct Migration {
  int from = 0;
  std::string_view sql;
};

// Brings `db` to schema `version`. An empty database gets `create_sql` (the
// whole schema at `version`); an older one gets `migrations`, one step per
// transaction together with its user_version bump, so a failed step leaves
// the database at the previous version. Refuses a newer database ("database
// schema version 7 is newer than this graphene (1); upgrade graphene") and a
// non-empty one without a version. Safe against another process opening the
// same database at the same time.
//
// `derived_sql` creates the objects computed from the tables (views, and the
// triggers that keep summary tables up to date). Whenever the version changes,
// every existing view and trigger is dropped and `derived_sql` run again, in
// the transaction that reaches `version`: migrations then change tables only,
// and the views and triggers are written once, not once per migration.
Status ApplySchema(Database& db, int version, std::string_view create_sql,
                   std::span<const Migration> migrations, std::string_view derived_sql = {});

}  // namespace graphene
