#pragma once
// Shared set-up for the snapshot source tests: a real state database in a temporary folder, the
// real group-commit InboxWriter as the sink, and the engine's own event application so stored
// workers look exactly as the daemon leaves them.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lifecycle.h"
#include "prov/store.h"
#include "sources/snapshot_diff.h"

namespace prov::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "prov-sources-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline Json person(const std::string& id, const std::string& first, const std::string& last,
                   const std::string& department = "Finance") {
  return {{"workerId", id}, {"firstName", first}, {"lastName", last}, {"department", department}};
}

inline std::map<std::string, EventType> types_by_worker(const std::vector<HrEvent>& events) {
  std::map<std::string, EventType> out;
  for (const auto& e : events) out[e.worker_id] = e.type;
  return out;
}

inline std::size_t count_type(const std::vector<HrEvent>& events, EventType type) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(),
                                                [&](const HrEvent& e) { return e.type == type; }));
}

class SourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::open(db_path());
    writer_ = InboxWriter::start(db_path(), 100000, [] {});
  }
  void TearDown() override {
    if (writer_) writer_->stop();
  }
  std::filesystem::path db_path() const { return dir_.path() / "state.db"; }

  // A worker the engine already knows, last changed by an event from `source`.
  void seed_worker(const Json& record, const std::string& source,
                   LifecycleState state = LifecycleState::Active) {
    HrEvent e;
    e.worker_id = record.at("workerId").get<std::string>();
    e.event_id = (source == "webhook" ? "evt-" : source + ":") + e.worker_id + ":seed";
    e.type = EventType::Hire;
    e.effective_at = from_unix_ms(1'000);
    e.received_at = from_unix_ms(1'000);
    e.worker = record;
    e.body_sha256 = "seed";
    e.source = source;
    ASSERT_EQ(store_->insert_event(e).status, IngestStatus::Stored);
    Worker w;
    apply_event_to_worker(w, e);
    w.state = state;
    w.last_effective_at = e.effective_at;
    store_->put_worker(w);
    auto row = store_->event(e.event_id);
    store_->set_event_status(row->id, EventStatus::Applied, "");
  }

  // What the engine does with each pending inbox row, minus planning.
  void apply_pending() {
    for (const auto& row : store_->pending_events(100000)) {
      store_->transaction([&] {
        Worker w = store_->worker(row.event.worker_id).value_or(Worker{});
        apply_event_to_worker(w, row.event);
        w.last_effective_at = row.event.effective_at;
        store_->put_worker(w);
        store_->set_event_status(row.id, EventStatus::Applied, "");
      });
    }
  }

  std::vector<HrEvent> pending() {
    std::vector<HrEvent> out;
    for (auto& row : store_->pending_events(100000)) out.push_back(std::move(row.event));
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<InboxWriter> writer_;
  ManualClock clock_{from_unix_ms(1'780'000'000'000)};  // 2026-05-28
};

}  // namespace prov::testing
