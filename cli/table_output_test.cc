// The history commands' tables: the same rows in text, JSON and CSV.
#include "cli/table_output.h"

#include <gtest/gtest.h>

namespace graphene {
namespace {

Table Sample() {
  return Table{.columns = {"campaign", "rate", "command"},
               .rows = {{1, 0.5, "graphene run-all"},
                        {22, nullptr, "say \"hi\", then\nleave"}}};
}

TEST(TableOutputTest, TextAlignsColumnsUnderUppercaseHeaders) {
  EXPECT_EQ(RenderTable(Sample(), "text"),
            "CAMPAIGN  RATE    COMMAND\n"
            "1         0.5000  graphene run-all\n"
            "22        -       say \"hi\", then leave\n");
}

TEST(TableOutputTest, JsonIsAnArrayOfObjectsKeepingTypes) {
  const nlohmann::json rows = nlohmann::json::parse(RenderTable(Sample(), "json"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["campaign"], 1);
  EXPECT_EQ(rows[0]["rate"], 0.5);
  EXPECT_TRUE(rows[1]["rate"].is_null());
  EXPECT_EQ(rows[1]["command"], "say \"hi\", then\nleave");
}

TEST(TableOutputTest, CsvQuotesWhatNeedsIt) {
  EXPECT_EQ(RenderTable(Sample(), "csv"),
            "campaign,rate,command\r\n"
            "1,0.5,graphene run-all\r\n"
            "22,,\"say \"\"hi\"\", then\nleave\"\r\n");
}

TEST(TableOutputTest, EmptyTableStillHasItsHeader) {
  const Table empty{.columns = {"a", "b"}, .rows = {}};
  EXPECT_EQ(RenderTable(empty, "text"), "A  B\n");
  EXPECT_EQ(RenderTable(empty, "json"), "[]\n");
  EXPECT_EQ(RenderTable(empty, "csv"), "a,b\r\n");
}

}  // namespace
}  // namespace graphene
