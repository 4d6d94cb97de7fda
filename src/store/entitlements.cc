// Entitlements (licences, hardware): allocation history per worker; at most one open allocation
// of each entitlement per worker.
#include "store/sqlite_store.h"

namespace prov {

void SqliteStore::allocate_entitlement(const std::string& worker_id, const std::string& ent,
                                       TimePoint at) {
  // Allocating what is already open is a no-op, so replays do not double-count licences.
  db_.query(
         "INSERT OR IGNORE INTO entitlements(worker_id, entitlement, allocated_at) "
         "VALUES (?1, ?2, ?3)")
      .bind_all(worker_id, ent, at)
      .run();
}

void SqliteStore::release_entitlement(const std::string& worker_id, const std::string& ent,
                                      TimePoint at) {
  db_.query(
         "UPDATE entitlements SET released_at = ?3 "
         "WHERE worker_id = ?1 AND entitlement = ?2 AND released_at IS NULL")
      .bind_all(worker_id, ent, at)
      .run();
}

namespace {

std::vector<EntitlementRow> read_entitlements(sql::Query& q) {
  std::vector<EntitlementRow> rows;
  while (q.step()) {
    EntitlementRow row;
    row.worker_id = q.text(0);
    row.entitlement = q.text(1);
    row.allocated_at = q.time(2);
    if (!q.is_null(3)) row.released_at = q.time(3);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

std::vector<EntitlementRow> SqliteStore::entitlements(const std::string& worker_id) {
  auto q = db_.query(
      "SELECT worker_id, entitlement, allocated_at, released_at FROM entitlements "
      "WHERE worker_id = ?1 ORDER BY id");
  q.bind(1, worker_id);
  return read_entitlements(q);
}

std::vector<EntitlementRow> SqliteStore::released_entitlements(TimePoint since) {
  auto q = db_.query(
      "SELECT worker_id, entitlement, allocated_at, released_at FROM entitlements "
      "WHERE released_at >= ?1 ORDER BY released_at, id");
  q.bind(1, since);
  return read_entitlements(q);
}

}  // namespace prov
