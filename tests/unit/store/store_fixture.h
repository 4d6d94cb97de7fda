#pragma once
// Shared set-up for the store tests: a fresh database file in its own temporary folder, and
// builders for the values the tests store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>

#include "prov/store.h"
#include "store/sqlite.h"

namespace prov::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "prov-store-XXXXXX").string();
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

// Joins text and numbers into an id ("evt-", 3 -> "evt-3"). Appending, rather than
// "literal" + std::string, also sidesteps a GCC 12 -Wrestrict false positive in optimised builds.
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  auto add = [&out](const auto& p) {
    if constexpr (std::is_arithmetic_v<std::decay_t<decltype(p)>>) {
      out += std::to_string(p);
    } else {
      out += p;
    }
  };
  (add(parts), ...);
  return out;
}

inline TimePoint at_ms(std::int64_t ms) { return from_unix_ms(ms); }

// SQLite's plan for `query`, one line per step ("SEARCH o USING INDEX …", "SCAN p", …).
inline std::string plan_of(sql::Database& db, const std::string& query) {
  auto q = db.query("EXPLAIN QUERY PLAN " + query);
  std::string text;
  while (q.step()) text += q.text(3) + "\n";
  return text;
}

inline HrEvent make_event(const std::string& event_id, const std::string& worker_id,
                          std::int64_t effective_ms = 1'000,
                          const std::string& digest = "digest-a") {
  HrEvent e;
  e.event_id = event_id;
  e.type = EventType::Hire;
  e.effective_at = at_ms(effective_ms);
  e.worker_id = worker_id;
  e.worker = {{"workerId", worker_id}, {"firstName", "José"}, {"lastName", "Núñez"}};
  e.body_sha256 = digest;
  e.received_at = at_ms(500);
  e.source = "webhook";
  return e;
}

inline Operation make_op(const std::string& worker_id, OpKind kind, const std::string& group = {}) {
  Operation op;
  op.kind = kind;
  op.worker_id = worker_id;
  op.username = cat("u", worker_id);
  op.group = group;
  op.reason = "test";
  return op;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Store::open(db_path()); }
  std::filesystem::path db_path() const { return dir_.path() / "state.db"; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace prov::testing
