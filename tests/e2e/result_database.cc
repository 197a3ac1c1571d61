#include "tests/e2e/result_database.h"

namespace graphene::e2e {

ResultDatabase::ResultDatabase(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    error_ = "opening " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
    sqlite3_close(db_);
    db_ = nullptr;
  }
}

ResultDatabase::~ResultDatabase() { sqlite3_close(db_); }

std::optional<std::vector<std::vector<std::string>>> ResultDatabase::Query(const std::string& sql) {
  if (db_ == nullptr) return std::nullopt;
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    error_ = sql + ": " + sqlite3_errmsg(db_);
    return std::nullopt;
  }
  std::vector<std::vector<std::string>> rows;
  int step;
  while ((step = sqlite3_step(statement)) == SQLITE_ROW) {
    std::vector<std::string>& row = rows.emplace_back();
    for (int column = 0; column < sqlite3_column_count(statement); ++column) {
      const unsigned char* text = sqlite3_column_text(statement, column);
      row.push_back(text == nullptr ? "NULL" : reinterpret_cast<const char*>(text));
    }
  }
  if (step != SQLITE_DONE) error_ = sql + ": " + sqlite3_errmsg(db_);
  sqlite3_finalize(statement);
  if (step != SQLITE_DONE) return std::nullopt;
  return rows;
}

std::optional<int64_t> ResultDatabase::QueryInt(const std::string& sql) {
  auto rows = Query(sql);
  if (!rows || rows->size() != 1 || rows->front().size() != 1) return std::nullopt;
  try {
    return std::stoll(rows->front().front());
  } catch (const std::exception&) {
    error_ = sql + ": not an integer: " + rows->front().front();
    return std::nullopt;
  }
}

}  // namespace graphene::e2e
