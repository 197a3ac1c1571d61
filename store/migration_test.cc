#include "store/migration.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/test_util.h"

namespace graphene {
namespace {

constexpr std::string_view kCreateV1 = "CREATE TABLE a (x INTEGER);";
constexpr std::string_view kCreateV2 = "CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER);";
const std::vector<Migration> kToV2 = {{1, "CREATE TABLE b (y INTEGER);"}};

class MigrationTest : public testing::Test {
 protected:
  Database OpenDb() {
    Result<Database> db = Database::Open(dir_.File("m.db"));
    EXPECT_TRUE(db.ok()) << db.status().message();
    return std::move(*db);
  }
  static int64_t Version(Database& db) { return Value(db.QueryInt("PRAGMA user_version")); }
  static bool HasTable(Database& db, const std::string& name) {
    return Value(db.QueryInt("SELECT count(*) FROM sqlite_master WHERE name = '" + name + "'")) ==
           1;
  }

  TempDir dir_;
};

TEST_F(MigrationTest, CreatesEmptyDatabaseAtVersion) {
  Database db = OpenDb();
  Status s = ApplySchema(db, 2, kCreateV2, kToV2);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Version(db), 2);
  EXPECT_TRUE(HasTable(db, "a"));
  EXPECT_TRUE(HasTable(db, "b"));
  EXPECT_TRUE(ApplySchema(db, 2, kCreateV2, kToV2).ok()) << "the current version is accepted";
}

TEST_F(MigrationTest, MigratesOlderDatabaseStepByStep) {
  Database db = OpenDb();
  ASSERT_TRUE(ApplySchema(db, 1, kCreateV1, {}).ok());
  ASSERT_TRUE(db.Exec("INSERT INTO a VALUES (42)").ok());
  Status s = ApplySchema(db, 2, kCreateV2, kToV2);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Version(db), 2);
  EXPECT_TRUE(HasTable(db, "b"));
  EXPECT_EQ(Value(db.QueryInt("SELECT x FROM a")), 42) << "migration keeps the data";
}

TEST_F(MigrationTest, FailedStepLeavesPreviousVersion) {
  Database db = OpenDb();
  ASSERT_TRUE(ApplySchema(db, 1, kCreateV1, {}).ok());
  const std::vector<Migration> broken = {{1, "CREATE TABLE c (z); CREATE TABLE a (x);"}};
  Status s = ApplySchema(db, 2, kCreateV2, broken);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "migrating the schema from version 1: table a already exists");
  EXPECT_EQ(Version(db), 1);
  EXPECT_FALSE(HasTable(db, "c")) << "the step is one transaction";
}

TEST_F(MigrationTest, MissingStepIsAnError) {
  Database db = OpenDb();
  ASSERT_TRUE(ApplySchema(db, 1, kCreateV1, {}).ok());
  Status s = ApplySchema(db, 3, "", kToV2);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "no migration from schema version 2");
  EXPECT_EQ(Version(db), 2) << "completed steps stay applied";
}

TEST_F(MigrationTest, RefusesNewerDatabaseWithoutTouchingIt) {
  Database db = OpenDb();
  ASSERT_TRUE(db.Exec("PRAGMA user_version = 7").ok());
  Status s = ApplySchema(db, 1, kCreateV1, {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "database schema version 7 is newer than this graphene (1); upgrade graphene");
  EXPECT_EQ(Version(db), 7);
  EXPECT_FALSE(HasTable(db, "a"));
}

TEST_F(MigrationTest, RefusesForeignDatabase) {
  Database db = OpenDb();
  ASSERT_TRUE(db.Exec("CREATE TABLE other (q)").ok());
  Status s = ApplySchema(db, 1, kCreateV1, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a graphene database"), std::string::npos) << s.message();
  EXPECT_FALSE(HasTable(db, "a"));
}

}  // namespace
}  // namespace graphene
