// ResultDatabase: read-only access to a results database that graphene
// wrote, for the end-to-end tests to check what it stored with plain SQL, as
// a person with the sqlite3 shell would.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace graphene::e2e {

class ResultDatabase {
 public:
  // Opens `path` read-only. Check `ok()`: a missing file is an error.
  explicit ResultDatabase(const std::string& path);
  ~ResultDatabase();
  ResultDatabase(const ResultDatabase&) = delete;
  ResultDatabase& operator=(const ResultDatabase&) = delete;

  bool ok() const { return db_ != nullptr; }
  // Why opening or the last query failed.
  const std::string& error() const { return error_; }

  // Every row of `sql`, each column as text (NULL as "NULL"); nullopt and
  // `error()` set if the query fails.
  std::optional<std::vector<std::vector<std::string>>> Query(const std::string& sql);
  // The single integer `sql` selects; nullopt if it fails or selects none.
  std::optional<int64_t> QueryInt(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

}  // namespace graphene::e2e
