#include "store/migration.h"

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

namespace graphene {
namespace {

Result<int64_t> UserVersion(Database& db) { return db.QueryInt("PRAGMA user_version"); }

Status CheckNotNewer(int64_t current, int version) {
  if (current <= version) return Status::Ok();
  return Status::Error(
      fmt::format("database schema version {} is newer than this graphene ({}); upgrade graphene",
                  current, version));
}

// Applies the one step that takes `db` from `current` towards `version`;
// runs inside the caller's transaction.
Status ApplyStep(Database& db, int64_t current, int version, std::string_view create_sql,
                 std::span<const Migration> migrations) {
  if (current == 0) {
    Result<int64_t> objects = db.QueryInt("SELECT count(*) FROM sqlite_master");
    if (!objects.ok()) return objects.status();
    if (*objects != 0)
      return Status::Error("not a graphene database (it has tables but no version)");
    if (Status s = db.Exec(std::string(create_sql)); !s.ok()) {
      return Status::Error("creating the schema: " + s.message());
    }
    return db.Exec(fmt::format("PRAGMA user_version = {}", version));
  }
  for (const Migration& step : migrations) {
    if (step.from != current) continue;
    if (Status s = db.Exec(std::string(step.sql)); !s.ok()) {
      return Status::Error(
          fmt::format("migrating the schema from version {}: {}", current, s.message()));
    }
    return db.Exec(fmt::format("PRAGMA user_version = {}", current + 1));
  }
  return Status::Error(fmt::format("no migration from schema version {}", current));
}

// Drops every view and trigger of `db` and runs `derived_sql` to create them
// as the current version has them.
Status RecreateDerived(Database& db, std::string_view derived_sql) {
  std::vector<std::string> drops;
  {
    // %w quotes an identifier.
    Result<Statement> select = db.Prepare(
        "SELECT printf('DROP %s \"%w\"', type, name) FROM sqlite_master "
        "WHERE type IN ('view', 'trigger')");
    if (!select.ok()) return select.status();
    while (true) {
      Result<bool> row = select->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      drops.push_back(select->ColumnText(0));
    }
  }
  for (const std::string& drop : drops) {
    if (Status s = db.Exec(drop); !s.ok()) return s;
  }
  if (Status s = db.Exec(std::string(derived_sql)); !s.ok()) {
    return Status::Error("creating the views and triggers: " + s.message());
  }
  return Status::Ok();
}

}  // namespace

Status ApplySchema(Database& db, int version, std::string_view create_sql,
                   std::span<const Migration> migrations, std::string_view derived_sql) {
  while (true) {
    // Read without the write lock first: opening a current database, by far
    // the common case, then never waits for a busy writer.
    Result<int64_t> current = UserVersion(db);
    if (!current.ok()) return current.status();
    if (Status s = CheckNotNewer(*current, version); !s.ok()) return s;
    if (*current == version) return Status::Ok();

    Result<Transaction> transaction = Transaction::Begin(db);
    if (!transaction.ok()) return transaction.status();
    // Read again under the lock: another process may have moved it meanwhile.
    current = UserVersion(db);
    if (!current.ok()) return current.status();
    if (*current < version) {
      if (Status s = ApplyStep(db, *current, version, create_sql, migrations); !s.ok()) return s;
      Result<int64_t> reached = UserVersion(db);
      if (!reached.ok()) return reached.status();
      if (*reached == version && !derived_sql.empty()) {
        if (Status s = RecreateDerived(db, derived_sql); !s.ok()) return s;
      }
    }
    if (Status s = transaction->Commit(); !s.ok()) return s;
  }
}

}  // namespace graphene
