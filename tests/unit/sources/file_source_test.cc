#include "sources/file_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "prov/metrics.h"
#include "sources_fixture.h"

namespace prov {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FileSourceTest : public testing::SourcesTest {
 protected:
  void SetUp() override {
    SourcesTest::SetUp();
    drop_ = dir_.path() / "drop";
    fs::create_directories(drop_);
    config_.name = "hris";
    config_.type = "file";
    config_.path = drop_;
  }

  // Writes a file and dates it `age` ago, the way a finished upload looks.
  fs::path drop(const std::string& name, const std::string& content,
                std::chrono::seconds age = std::chrono::seconds(60)) {
    const fs::path p = drop_ / name;
    std::ofstream(p, std::ios::binary) << content;
    fs::last_write_time(p, fs::file_time_type::clock::now() - age);
    return p;
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path drop_;
  SnapshotSourceConfig config_;
};

TEST_F(FileSourceTest, TakesSettledSnapshotsAndMovesThemToProcessed) {
  Metrics::global().reset();
  drop("workers.csv",
       "workerId,firstName,lastName,department\n"
       "100234,José,Núñez,Finance\n"
       "100235,Ann,\"O'Neil, Jr.\",Sales\n");
  drop("fresh.json", R"([{"workerId":"7","firstName":"A","lastName":"B"}])",
       std::chrono::seconds(0));
  drop(".upload.csv.tmp", "workerId,firstName,lastName\n8,C,D\n");
  drop(".hidden.csv", "workerId,firstName,lastName\n9,E,F\n");
  drop("readme.txt", "not a snapshot");

  FileSource source(config_, *writer_, clock_);
  auto pass = source.poll(*store_);
  ASSERT_TRUE(pass.ok()) << pass.error().message;
  ASSERT_EQ(pass->processed.size(), 1u);
  EXPECT_EQ(pass->processed[0].filename(), "workers.csv");
  EXPECT_TRUE(fs::exists(drop_ / "processed" / "workers.csv"));
  EXPECT_FALSE(fs::exists(drop_ / "workers.csv"));
  // Not settled yet, hidden, or not a snapshot: untouched.
  EXPECT_TRUE(fs::exists(drop_ / "fresh.json"));
  EXPECT_TRUE(fs::exists(drop_ / ".upload.csv.tmp"));
  EXPECT_TRUE(fs::exists(drop_ / ".hidden.csv"));
  EXPECT_TRUE(fs::exists(drop_ / "readme.txt"));

  auto events = pending();
  ASSERT_EQ(events.size(), 2u);
  auto jose = std::find_if(events.begin(), events.end(),
                           [](const HrEvent& e) { return e.worker_id == "100234"; });
  ASSERT_NE(jose, events.end());
  EXPECT_EQ(jose->type, EventType::Hire);
  EXPECT_EQ(jose->source, "file:hris");
  EXPECT_EQ(jose->worker["lastName"], "Núñez");
  EXPECT_EQ(Metrics::global().value("provisiond_snapshot_polls_total",
                                    {{"source", "file:hris"}, {"result", "ok"}}),
            1);
}

TEST_F(FileSourceTest, TakesFilesOldestFirst) {
  drop("b-newer.json", R"([{"workerId":"1","firstName":"A","lastName":"B","title":"new"}])",
       std::chrono::seconds(30));
  drop("a-older.json", R"([{"workerId":"1","firstName":"A","lastName":"B","title":"old"}])",
       std::chrono::seconds(90));
  FileSource source(config_, *writer_, clock_);
  auto pass = source.poll(*store_);
  ASSERT_TRUE(pass.ok());
  ASSERT_EQ(pass->processed.size(), 2u);
  EXPECT_EQ(pass->processed[0].filename(), "a-older.json");
  EXPECT_EQ(pass->processed[1].filename(), "b-newer.json");
  auto events = pending();  // inbox order is arrival order
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].worker["title"], "old");
  EXPECT_EQ(events[1].worker["title"], "new");
}

TEST_F(FileSourceTest, BadSnapshotIsRejectedWithAnErrorFileAndNoEvents) {
  Metrics::global().reset();
  seed_worker(testing::person("1", "A", "B"), "file:hris");
  config_.missing_means_terminated = true;
  drop("broken.csv", "workerId,firstName,lastName\n2,\"Unclosed,B\n");
  FileSource source(config_, *writer_, clock_);
  auto pass = source.poll(*store_);
  ASSERT_TRUE(pass.ok());
  ASSERT_EQ(pass->rejected.size(), 1u);
  EXPECT_TRUE(fs::exists(drop_ / "rejected" / "broken.csv"));
  EXPECT_FALSE(fs::exists(drop_ / "broken.csv"));
  const std::string error = slurp(drop_ / "rejected" / "broken.csv.error");
  EXPECT_THAT(error, HasSubstr("broken.csv: line 2, field 2"));
  EXPECT_TRUE(pending().empty());  // in particular, worker 1 is not terminated
  EXPECT_EQ(Metrics::global().value("provisiond_snapshot_polls_total",
                                    {{"source", "file:hris"}, {"result", "rejected"}}),
            1);
}

TEST_F(FileSourceTest, SameNameDroppedTwiceKeepsBothCopies) {
  FileSource source(config_, *writer_, clock_);
  drop("daily.json", R"([{"workerId":"1","firstName":"A","lastName":"B"}])");
  ASSERT_EQ(source.poll(*store_)->processed.size(), 1u);
  drop("daily.json", R"([{"workerId":"1","firstName":"A","lastName":"C"}])");
  clock_.advance(std::chrono::minutes(1));
  ASSERT_EQ(source.poll(*store_)->processed.size(), 1u);
  std::size_t kept = 0;
  for (const auto& entry : fs::directory_iterator(drop_ / "processed")) {
    (void)entry;
    ++kept;
  }
  EXPECT_EQ(kept, 2u);
}

TEST_F(FileSourceTest, MissingFolderIsAnError) {
  config_.path = dir_.path() / "nowhere";
  FileSource source(config_, *writer_, clock_);
  auto pass = source.poll(*store_);
  ASSERT_FALSE(pass.ok());
  EXPECT_THAT(pass.error().message, HasSubstr("nowhere"));
}

}  // namespace
}  // namespace prov
