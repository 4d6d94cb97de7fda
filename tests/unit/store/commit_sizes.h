#pragma once
// Observes the group-commit InboxWriter from outside: what each of its commits added to the inbox.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "store/sqlite.h"

namespace prov::testing {

// What each commit of a writer added to the inbox (events, bytes of body), read from a second
// connection after every commit: on_stored runs on the writer thread once per commit that
// stored something, before the next transaction begins.
class CommitSizes {
 public:
  struct Commit {
    std::int64_t events = 0, bytes = 0;
  };
  explicit CommitSizes(std::filesystem::path path) : path_(std::move(path)) {}
  void after_commit() {
    if (!db_) db_ = std::make_unique<sql::Database>(path_, sql::Database::Mode::ReadOnly);
    auto q = db_->query(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(body AS BLOB))), 0), COALESCE(MAX(id), ?1) "
        "FROM inbox WHERE id > ?1");
    q.bind(1, last_id_);
    q.step();
    std::lock_guard lock(mu_);
    commits_.push_back(Commit{q.int64(0), q.int64(1)});
    last_id_ = q.int64(2);
  }
  std::vector<Commit> commits() const {
    std::lock_guard lock(mu_);
    return commits_;
  }

 private:
  std::filesystem::path path_;
  std::unique_ptr<sql::Database> db_;
  std::int64_t last_id_ = 0;
  mutable std::mutex mu_;
  std::vector<Commit> commits_;
};

}  // namespace prov::testing
