#include "sources/source_runner.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <mutex>

#include "prov/metrics.h"
#include "sources_fixture.h"

namespace prov {
namespace {

namespace fs = std::filesystem;

// Forwards to the real InboxWriter and lets the test wait for its answers.
class ObservedSink : public IngestSink {
 public:
  explicit ObservedSink(IngestSink& inner) : inner_(inner) {}
  void submit(HrEvent event, std::function<void(IngestResult)> done) override {
    inner_.submit(std::move(event), [this, done = std::move(done)](IngestResult r) {
      done(r);
      std::lock_guard lock(mu_);
      ++answered_;
      cv_.notify_all();
    });
  }
  bool wait_for_answers(std::size_t n, std::chrono::seconds deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return answered_ >= n; });
  }

 private:
  IngestSink& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t answered_ = 0;
};

class SourceRunnerTest : public testing::SourcesTest {};

TEST_F(SourceRunnerTest, ReadsAtStartAndStopsWithoutWaitingForTheInterval) {
  const fs::path drop = dir_.path() / "drop";
  fs::create_directories(drop);
  const fs::path file = drop / "workers.json";
  std::ofstream(file) << R"([{"workerId":"1","firstName":"José","lastName":"Núñez"},
                            {"workerId":"2","firstName":"Ann","lastName":"Lee"}])";
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::minutes(1));

  SnapshotSourceConfig config;
  config.name = "hris";
  config.type = "file";
  config.path = drop;
  config.interval = std::chrono::hours(1);
  ObservedSink sink(*writer_);
  auto sources = SnapshotSources::start({config}, db_path(), sink, clock_);
  ASSERT_TRUE(sink.wait_for_answers(2, std::chrono::seconds(20)));

  const auto stopping = std::chrono::steady_clock::now();
  sources->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(5));
  EXPECT_EQ(pending().size(), 2u);
  EXPECT_TRUE(fs::exists(drop / "processed" / "workers.json"));
  sources->stop();  // idempotent
}

TEST_F(SourceRunnerTest, UnknownSourceTypeIsAConfigError) {
  SnapshotSourceConfig config;
  config.name = "x";
  config.type = "ftp";
  EXPECT_THROW(SnapshotSources::start({config}, db_path(), *writer_, clock_), ConfigError);
}

TEST_F(SourceRunnerTest, NoSourcesNoThread) {
  auto sources = SnapshotSources::start({}, db_path(), *writer_, clock_);
  ASSERT_NE(sources, nullptr);
  sources->stop();
}

}  // namespace
}  // namespace prov
