#include "sources/snapshot_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace prov {
namespace {

using ::testing::HasSubstr;

TEST(JsonSnapshot, ReadsATopLevelList) {
  auto r = read_json_snapshot(R"([{"workerId":"1"},{"workerId":"2"}])", "", "s");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1]["workerId"], "2");
}

TEST(JsonSnapshot, FollowsRecordsPointerIntoAnObject) {
  auto r =
      read_json_snapshot(R"({"Report_Entry":[{"workerId":"7"}],"count":1})", "/Report_Entry", "s");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0]["workerId"], "7");
}

TEST(JsonSnapshot, AnObjectWithoutPointerIsAnErrorNotAnEmptySnapshot) {
  auto r = read_json_snapshot(R"({"Report_Entry":[]})", "", "hr.json");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("hr.json"));
  EXPECT_THAT(r.error().message, HasSubstr("records_pointer"));
}

TEST(JsonSnapshot, PointerThatFindsNothingOrNoListIsAnError) {
  auto none = read_json_snapshot(R"({"data":[]})", "/Report_Entry", "s");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("/Report_Entry finds nothing"));
  auto scalar = read_json_snapshot(R"({"data":5})", "/data", "s");
  ASSERT_FALSE(scalar.ok());
  EXPECT_THAT(scalar.error().message, HasSubstr("must be a JSON array"));
}

TEST(JsonSnapshot, SyntaxErrorNamesLineAndColumn) {
  auto r = read_json_snapshot("[\n  {\"workerId\": \"1\"},\n  {\"workerId\": }\n]", "", "x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("x.json: line 3"));
}

TEST(CsvSnapshot, QuotingAndUtf8) {
  const std::string csv =
      "workerId,firstName,lastName,jobTitle,note\n"
      "100234,José,Núñez,\"Head of \"\"Sales\"\", EMEA\",\n"
      "100235,Zoë,\"Two\nLines\",,\"\"\n";
  auto r = read_csv_snapshot(csv, "w.csv");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  const Json& jose = (*r)[0];
  EXPECT_EQ(jose["firstName"], "José");
  EXPECT_EQ(jose["lastName"], "Núñez");
  EXPECT_EQ(jose["jobTitle"], "Head of \"Sales\", EMEA");
  EXPECT_FALSE(jose.contains("note"));  // empty cell = absent field
  const Json& zoe = (*r)[1];
  EXPECT_EQ(zoe["lastName"], "Two\nLines");
  EXPECT_FALSE(zoe.contains("jobTitle"));
  EXPECT_FALSE(zoe.contains("note"));
}

TEST(CsvSnapshot, CrLfLineEndsByteOrderMarkAndNoFinalNewline) {
  auto r = read_csv_snapshot("\xEF\xBB\xBFworkerId,lastName\r\n1,A\r\n\r\n2,B", "w.csv");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_TRUE((*r)[0].contains("workerId"));  // the BOM is not part of the first name
  EXPECT_EQ((*r)[1]["lastName"], "B");
}

TEST(CsvSnapshot, InvalidUtf8NamesTheLine) {
  auto r = read_csv_snapshot(
      "workerId,lastName\n1,A\n2,N\xFA\xF1"
      "ez\n",
      "latin1.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("latin1.csv: line 3"));
  EXPECT_THAT(r.error().message, HasSubstr("UTF-8"));
}

TEST(CsvSnapshot, WrongFieldCountNamesTheLine) {
  auto r = read_csv_snapshot("workerId,firstName,lastName\n1,A,B\n2,C\n", "w.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("line 3: 2 fields, but the header names 3"));
}

TEST(CsvSnapshot, UnclosedQuoteNamesLineAndField) {
  auto r = read_csv_snapshot("workerId,lastName\n1,\"Núñez\n2,B\n", "w.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("line 2, field 2 (\"lastName\")"));
  EXPECT_THAT(r.error().message, HasSubstr("never closed"));
}

TEST(CsvSnapshot, StrayQuotesAreErrors) {
  auto inside = read_csv_snapshot("workerId,lastName\n1,O\"Brien\n", "w.csv");
  ASSERT_FALSE(inside.ok());
  EXPECT_THAT(inside.error().message, HasSubstr("line 2, field 2"));
  auto after = read_csv_snapshot("workerId,lastName\n1,\"O\"Brien\n", "w.csv");
  ASSERT_FALSE(after.ok());
  EXPECT_THAT(after.error().message, HasSubstr("after a closing quote"));
}

TEST(CsvSnapshot, HeaderMustNameEachFieldOnce) {
  EXPECT_FALSE(read_csv_snapshot("workerId,,lastName\n", "w.csv").ok());
  auto twice = read_csv_snapshot("workerId,lastName,lastName\n", "w.csv");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.error().message, HasSubstr("\"lastName\" twice"));
  EXPECT_FALSE(read_csv_snapshot("", "w.csv").ok());
}

TEST(Snapshot, FormatSelectsTheParser) {
  auto csv = read_snapshot("workerId\n5\n", SnapshotFormat::Csv, "", "s");
  ASSERT_TRUE(csv.ok());
  EXPECT_EQ((*csv)[0]["workerId"], "5");
  EXPECT_FALSE(read_snapshot("workerId\n5\n", SnapshotFormat::Json, "", "s").ok());
}

}  // namespace
}  // namespace prov
