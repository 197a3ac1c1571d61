#include "store/sqlite.h"

#include <utility>

namespace graphene {

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(other.bind_error_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_error_ = other.bind_error_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::KeepBindError(int rc) {
  if (bind_error_ == SQLITE_OK) bind_error_ = rc;
}

Statement& Statement::BindInt(int index, int64_t value) {
  KeepBindError(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::BindDouble(int index, double value) {
  KeepBindError(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

Statement& Statement::BindText(int index, std::string_view value) {
  // A null pointer would bind NULL; an empty string must stay ''.
  const char* data = value.empty() ? "" : value.data();
  KeepBindError(
      sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view value) {
  if (value.empty()) {  // sqlite3_bind_blob64 of no bytes may bind NULL
    KeepBindError(sqlite3_bind_zeroblob(stmt_, index, 0));
  } else {
    KeepBindError(sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT));
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  KeepBindError(sqlite3_bind_null(stmt_, index));
  return *this;
}

Statement& Statement::BindOptionalInt(int index, std::optional<int64_t> value) {
  return value ? BindInt(index, *value) : BindNull(index);
}

std::string Statement::ErrorMessage() const {
  return stmt_ == nullptr ? "statement not prepared" : sqlite3_errmsg(sqlite3_db_handle(stmt_));
}

Result<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) {
    return Status::Error(std::string("binding a parameter: ") + sqlite3_errstr(bind_error_));
  }
  if (stmt_ == nullptr) return Status::Error(ErrorMessage());
  switch (sqlite3_step(stmt_)) {
    case SQLITE_ROW:
      return true;
    case SQLITE_DONE:
      return false;
    default:
      return Status::Error(ErrorMessage());
  }
}

Status Statement::Run() {
  Result<bool> row = Step();
  if (!row.ok()) return row.status();
  if (*row) return Status::Error("statement returned a row where none was expected");
  return Status::Ok();
}

void Statement::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = SQLITE_OK;
}

int64_t Statement::ColumnInt(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::ColumnDouble(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  // Read the pointer before the size, as SQLite documents.
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (data == nullptr) return "";
  return std::string(data, sqlite3_column_bytes(stmt_, column));
}

std::string Statement::ColumnBlob(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  if (data == nullptr) return "";
  return std::string(data, sqlite3_column_bytes(stmt_, column));
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::optional<int64_t> Statement::ColumnOptionalInt(int column) const {
  if (ColumnIsNull(column)) return std::nullopt;
  return ColumnInt(column);
}

Result<Database> Database::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Database owner(db);  // SQLite allocates a handle even when opening fails
  if (rc != SQLITE_OK) {
    return Status::Error(db == nullptr ? sqlite3_errstr(rc) : sqlite3_errmsg(db));
  }
  return owner;
}

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

// close_v2 rather than close: a Statement outliving its Database still
// finalizes safely, and the connection closes after it.
Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Status::Error(ErrorMessage());
  }
  return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return Status::Error(ErrorMessage());
  if (stmt == nullptr) return Status::Error("no SQL statement in \"" + std::string(sql) + "\"");
  return Statement(stmt);
}

Result<int64_t> Database::QueryInt(std::string_view sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Error("query returned no row: " + std::string(sql));
  return stmt->ColumnInt(0);
}

Result<std::string> Database::QueryText(std::string_view sql) {
  Result<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Error("query returned no row: " + std::string(sql));
  return stmt->ColumnText(0);
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int64_t Database::Changes() const { return sqlite3_changes64(db_); }

std::string Database::ErrorMessage() const {
  return db_ == nullptr ? "database not open" : sqlite3_errmsg(db_);
}

Result<Transaction> Transaction::Begin(Database& db) {
  if (Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR,
  // ...); a second ROLLBACK would only fail.
  if (db_ != nullptr && sqlite3_get_autocommit(db_->get()) == 0) {
    (void)db_->Exec("ROLLBACK");
  }
}

Status Transaction::Commit() {
  if (db_ == nullptr) return Status::Error("committing: no transaction");
  if (Status s = db_->Exec("COMMIT"); !s.ok()) return s;
  db_ = nullptr;
  return Status::Ok();
}

}  // namespace graphene
