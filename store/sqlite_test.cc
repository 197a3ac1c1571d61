#include "store/sqlite.h"

#include <gtest/gtest.h>

#include <string>

#include "base/test_util.h"

namespace graphene {
namespace {

using namespace std::string_literals;

class SqliteTest : public testing::Test {
 protected:
  void SetUp() override {
    Result<Database> db = Database::Open(dir_.File("test.db"));
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    ASSERT_TRUE(db_.Exec("CREATE TABLE t (i INTEGER, b BLOB, s TEXT UNIQUE)").ok());
  }

  TempDir dir_;
  Database db_;
};

TEST_F(SqliteTest, BlobsAndTextKeepNulBytesAndEmptyIsNotNull) {
  Result<Statement> insert = db_.Prepare("INSERT INTO t (i, b, s) VALUES (?1, ?2, ?3)");
  ASSERT_TRUE(insert.ok()) << insert.status().message();
  ASSERT_TRUE(insert->BindInt(1, -5).BindBlob(2, "a\0b"s).BindText(3, "x\0y"s).Run().ok());
  insert->Reset();
  ASSERT_TRUE(insert->BindInt(1, 6).BindBlob(2, "").BindText(3, "").Run().ok());

  Result<Statement> select = db_.Prepare("SELECT i, b, s, b IS NULL, s IS NULL FROM t ORDER BY i");
  ASSERT_TRUE(select.ok());
  ASSERT_TRUE(Value(select->Step()));
  EXPECT_EQ(select->ColumnInt(0), -5);
  EXPECT_EQ(select->ColumnBlob(1), "a\0b"s);
  EXPECT_EQ(select->ColumnText(2), "x\0y"s);
  ASSERT_TRUE(Value(select->Step()));
  EXPECT_EQ(select->ColumnBlob(1), "");
  EXPECT_EQ(select->ColumnInt(3), 0) << "an empty blob must not be stored as NULL";
  EXPECT_EQ(select->ColumnInt(4), 0) << "an empty text must not be stored as NULL";
  EXPECT_FALSE(Value(select->Step()));
}

TEST_F(SqliteTest, OptionalIntsRoundTripNullAndValue) {
  Result<Statement> insert = db_.Prepare("INSERT INTO t (i) VALUES (?1)");
  ASSERT_TRUE(insert->BindOptionalInt(1, std::nullopt).Run().ok());
  insert->Reset();
  ASSERT_TRUE(insert->BindOptionalInt(1, 0).Run().ok());
  Result<Statement> select = db_.Prepare("SELECT i FROM t ORDER BY rowid");
  ASSERT_TRUE(Value(select->Step()));
  EXPECT_EQ(select->ColumnOptionalInt(0), std::nullopt);
  ASSERT_TRUE(Value(select->Step()));
  EXPECT_EQ(select->ColumnOptionalInt(0), 0);
}

TEST_F(SqliteTest, BindErrorIsReportedByStep) {
  Result<Statement> insert = db_.Prepare("INSERT INTO t (i) VALUES (?1)");
  Result<bool> step = insert->BindInt(7, 1).Step();
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find("binding a parameter"), std::string::npos)
      << step.status().message();
  insert->Reset();  // clears the kept error
  EXPECT_TRUE(insert->BindInt(1, 1).Run().ok());
}

TEST_F(SqliteTest, ErrorsCarrySqliteMessage) {
  Result<Statement> bad = db_.Prepare("SELECT nonsense FROM nowhere");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "no such table: nowhere");

  ASSERT_TRUE(db_.Exec("INSERT INTO t (s) VALUES ('same')").ok());
  Status duplicate = db_.Exec("INSERT INTO t (s) VALUES ('same')");
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.message(), "UNIQUE constraint failed: t.s");

  EXPECT_FALSE(db_.Prepare("  ").ok()) << "no statement is an error, not a null Statement";
  EXPECT_FALSE(db_.QueryInt("SELECT i FROM t WHERE 0").ok());
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  {
    Result<Transaction> transaction = Transaction::Begin(db_);
    ASSERT_TRUE(transaction.ok());
    ASSERT_TRUE(db_.Exec("INSERT INTO t (i) VALUES (1)").ok());
  }
  EXPECT_EQ(Value(db_.QueryInt("SELECT count(*) FROM t")), 0);
  {
    Result<Transaction> transaction = Transaction::Begin(db_);
    ASSERT_TRUE(db_.Exec("INSERT INTO t (i) VALUES (2)").ok());
    ASSERT_TRUE(transaction->Commit().ok());
  }
  EXPECT_EQ(Value(db_.QueryInt("SELECT count(*) FROM t")), 1);
}

TEST_F(SqliteTest, TransactionSurvivesBeingRolledBackBySqlite) {
  Result<Transaction> transaction = Transaction::Begin(db_);
  ASSERT_TRUE(transaction.ok());
  ASSERT_TRUE(db_.Exec("ROLLBACK").ok());  // as SQLite does itself after SQLITE_FULL
  EXPECT_FALSE(transaction->Commit().ok());
}  // the destructor must not fail or roll back twice

TEST(Database, OpenReportsSqliteError) {
  Result<Database> db = Database::Open("/nonexistent-graphene-dir/x.db");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().message(), "unable to open database file");
}

}  // namespace
}  // namespace graphene
