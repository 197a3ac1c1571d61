// Thin RAII owners over the SQLite C API: a connection (Database), a prepared
// statement (Statement) and a write transaction (Transaction). They report
// failures as Status with SQLite's own message and leave the wording of
// context ("cannot open database ...") to their callers.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace graphene {

// A prepared statement, finalized on destruction. Not thread-safe.
//
// Typical use: Reset(), Bind*() the parameters (1-based), then Step() until it
// returns false, reading Column*() (0-based) while it returns true. A cached
// SELECT must be Reset() after use: an unfinished statement keeps its read
// snapshot open, which hides newer writes and stalls WAL checkpoints.
class Statement {
 public:
  Statement() = default;
  // Takes ownership of `stmt`.
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding never fails on the spot: the first failure (e.g. an index out of
  // range) is kept and returned by the next Step(), so callers can bind a row
  // without checking every call. Text and blobs are copied.
  Statement& BindInt(int index, int64_t value);
  Statement& BindDouble(int index, double value);
  Statement& BindText(int index, std::string_view value);
  // Binds bytes as a BLOB; an empty `value` is a zero-length BLOB, not NULL.
  Statement& BindBlob(int index, std::string_view value);
  Statement& BindNull(int index);
  // Binds NULL when `value` is empty.
  Statement& BindOptionalInt(int index, std::optional<int64_t> value);

  // Runs the statement to its next row: true when a row is ready to read,
  // false when the statement is done, or the error (a failed bind or
  // SQLite's message).
  Result<bool> Step();
  // Steps once more and expects the statement to be done, e.g. an INSERT.
  Status Run();
  // Makes the statement ready to run again: rewinds it, releases its read
  // snapshot and clears its bindings and any kept bind error.
  void Reset();

  // Reading the current row; `column` is 0-based. NULL reads as 0, 0.0 or "".
  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;
  // Text and blobs keep embedded NUL bytes.
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;
  std::optional<int64_t> ColumnOptionalInt(int column) const;

 private:
  void KeepBindError(int rc);
  std::string ErrorMessage() const;

  sqlite3_stmt* stmt_ = nullptr;
  int bind_error_ = SQLITE_OK;  // first failed bind since the last Reset()
};

// An open SQLite connection, closed on destruction. Not thread-safe: use one
// Database per thread.
class Database {
 public:
  // Opens the database file at `path` for reading and writing, creating it
  // if missing. The parent folder must exist.
  static Result<Database> Open(const std::string& path);

  Database() = default;
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  sqlite3* get() const { return db_; }

  // Runs `sql`, one or more statements separated by ';', discarding rows.
  Status Exec(const std::string& sql);
  // Prepares the single statement `sql`.
  Result<Statement> Prepare(std::string_view sql);
  // Runs `sql` and returns the first column of its first row; an error when
  // it yields no row.
  Result<int64_t> QueryInt(std::string_view sql);
  Result<std::string> QueryText(std::string_view sql);

  // The rowid of the last successful INSERT on this connection.
  int64_t LastInsertRowId() const;
  // Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  int64_t Changes() const;
  // SQLite's message for the last failed call on this connection.
  std::string ErrorMessage() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}

  sqlite3* db_ = nullptr;
};

// A write transaction, rolled back on destruction unless committed. It
// starts with BEGIN IMMEDIATE, taking the write lock up front: a concurrent
// writer then makes Begin() wait (up to the connection's busy timeout) rather
// than failing a statement half-way through the transaction.
class Transaction {
 public:
  // Begins a transaction on `db`, which must outlive it.
  static Result<Transaction> Begin(Database& db);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Makes the transaction's changes durable. After a failed Commit() the
  // transaction is rolled back on destruction.
  Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}

  Database* db_ = nullptr;  // null once committed or moved from
};

}  // namespace graphene
