#include "prov/account_spill.h"

#include <vector>

#include "store/sqlite.h"
#include "store/sqlite_store.h"

namespace prov {
namespace {

// Rows written per transaction: one commit per row would make filling the spill the slow part.
constexpr int kRowsPerCommit = 2000;

}  // namespace

struct AccountSpill::Impl {
  // An empty file name: SQLite's private temporary database, deleted when closed.
  sql::Database db{"", sql::Database::Mode::ReadWrite};
  int uncommitted = 0;

  void commit() {
    if (uncommitted == 0) return;
    db.exec("COMMIT");
    uncommitted = 0;
  }
};

AccountSpill::AccountSpill() : impl_(std::make_unique<Impl>()) {
  // Nothing here must survive a crash, and memory is what the spill exists to save.
  impl_->db.exec("PRAGMA journal_mode = OFF");
  impl_->db.exec("PRAGMA synchronous = OFF");
  impl_->db.exec("PRAGMA cache_size = -8192");  // KiB
  impl_->db.exec("PRAGMA temp_store = FILE");
  impl_->db.exec(
      "CREATE TABLE spill (worker_id TEXT PRIMARY KEY, account TEXT NOT NULL) WITHOUT ROWID");
}

AccountSpill::~AccountSpill() = default;

void AccountSpill::put(const Account& account) {
  if (impl_->uncommitted == 0) impl_->db.exec("BEGIN");
  impl_->db.query("INSERT OR REPLACE INTO spill(worker_id, account) VALUES (?1, ?2)")
      .bind_all(account.worker_id, account_to_json(account).dump())
      .run();
  if (++impl_->uncommitted >= kRowsPerCommit) impl_->commit();
}

std::optional<Account> AccountSpill::take(const std::string& worker_id) {
  impl_->commit();
  std::optional<Account> found;
  {
    auto q = impl_->db.query("SELECT account FROM spill WHERE worker_id = ?1");
    q.bind(1, worker_id);
    if (!q.step()) return std::nullopt;
    const std::string where = "the reconcile spill";
    found = account_from_json(parse_json_column(q.text(0), where), where);
  }
  impl_->db.query("DELETE FROM spill WHERE worker_id = ?1").bind(1, worker_id).run();
  return found;
}

void AccountSpill::for_each(const std::function<void(const Account&)>& visit) {
  impl_->commit();
  // A page at a time, as the store's readers do: `visit` may be slow (it prints).
  std::string after;
  for (;;) {
    std::vector<Account> page;
    {
      auto q = impl_->db.query(
          "SELECT account FROM spill WHERE worker_id > ?1 ORDER BY worker_id LIMIT ?2");
      q.bind_all(after, kPageRows);
      const std::string where = "the reconcile spill";
      while (q.step()) page.push_back(account_from_json(parse_json_column(q.text(0), where), where));
    }
    for (const auto& a : page) visit(a);
    if (page.size() < static_cast<std::size_t>(kPageRows)) return;
    after = page.back().worker_id;
  }
}

}  // namespace prov
