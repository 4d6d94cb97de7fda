// The schedule: points in time when a worker's desired state changes (future hires, terminations
// coming into effect, retention deletes). The engine sleeps until the earliest one.
#include "store/sqlite_store.h"

namespace prov {

void SqliteStore::add_schedule(const std::string& worker_id, TimePoint due_at,
                               const std::string& reason) {
  // Replaying an event after a crash schedules the same thing again; keep one row.
  db_.query("INSERT OR IGNORE INTO schedule(worker_id, due_at, reason) VALUES (?1, ?2, ?3)")
      .bind_all(worker_id, due_at, reason)
      .run();
}

std::vector<ScheduleRow> SqliteStore::due_schedules(TimePoint now) {
  auto q = db_.query(
      "SELECT id, worker_id, due_at, reason FROM schedule WHERE due_at <= ?1 "
      "ORDER BY due_at, id");
  q.bind(1, now);
  std::vector<ScheduleRow> rows;
  while (q.step()) {
    rows.push_back(ScheduleRow{q.int64(0), q.text(1), q.time(2), q.text(3)});
  }
  return rows;
}

void SqliteStore::remove_schedule(std::int64_t id) {
  db_.query("DELETE FROM schedule WHERE id = ?1").bind(1, id).run();
}

std::optional<TimePoint> SqliteStore::next_schedule_at() {
  auto q = db_.query("SELECT MIN(due_at) FROM schedule");
  q.step();
  if (q.is_null(0)) return std::nullopt;
  return q.time(0);
}

}  // namespace prov
