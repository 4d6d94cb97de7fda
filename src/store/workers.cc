// Worker records: the latest applied HR record per worker.
#include "store/sqlite_store.h"

namespace prov {
namespace {

constexpr std::string_view kSelectWorker =
    "SELECT worker_id, record, state, last_effective_at, last_event_id FROM workers ";

Worker read_worker(const sql::Query& q) {
  Worker w;
  w.worker_id = q.text(0);
  w.record = parse_json_column(q.text(1), "worker " + w.worker_id);
  const std::string state = q.text(2);
  const auto parsed = parse_lifecycle_state(state);
  if (!parsed) {
    throw StoreError("worker " + w.worker_id + " has unknown lifecycle state '" + state + "'");
  }
  w.state = *parsed;
  w.last_effective_at = q.time(3);
  w.last_event_id = q.text(4);
  return w;
}

}  // namespace

std::optional<Worker> SqliteStore::worker(const std::string& worker_id) {
  static const std::string sql = std::string(kSelectWorker) + "WHERE worker_id = ?1";
  auto q = db_.query(sql);
  q.bind(1, worker_id);
  if (!q.step()) return std::nullopt;
  return read_worker(q);
}

void SqliteStore::put_worker(const Worker& worker) {
  std::string record;
  try {
    record = worker.record.dump();
  } catch (const Json::exception& e) {
    throw StoreError("worker " + worker.worker_id +
                     " record cannot be stored as JSON: " + e.what());
  }
  db_.query(R"sql(INSERT INTO workers(worker_id, record, state, last_effective_at, last_event_id)
      VALUES (?1, ?2, ?3, ?4, ?5)
      ON CONFLICT(worker_id) DO UPDATE SET record = excluded.record, state = excluded.state,
        last_effective_at = excluded.last_effective_at, last_event_id = excluded.last_event_id)sql")
      .bind_all(worker.worker_id, record, to_string(worker.state), worker.last_effective_at,
                worker.last_event_id)
      .run();
}

std::vector<Worker> SqliteStore::workers() {
  static const std::string sql = std::string(kSelectWorker) + "ORDER BY worker_id";
  auto q = db_.query(sql);
  std::vector<Worker> rows;
  while (q.step()) rows.push_back(read_worker(q));
  return rows;
}

void SqliteStore::for_each_worker(const std::function<void(const Worker&)>& visit) {
  static const std::string sql =
      std::string(kSelectWorker) + "WHERE worker_id > ?1 ORDER BY worker_id LIMIT ?2";
  std::string after;
  for (;;) {
    std::vector<Worker> page;
    {
      auto q = db_.query(sql);
      q.bind_all(after, kPageRows);
      while (q.step()) page.push_back(read_worker(q));
    }
    for (const auto& w : page) visit(w);
    if (page.size() < static_cast<std::size_t>(kPageRows)) return;
    after = page.back().worker_id;
  }
}

std::vector<std::string> SqliteStore::reports_of(const std::string& manager_id) {
  // Same expression as the workers_manager index, so the lookup is an index seek.
  auto q = db_.query(
      "SELECT worker_id FROM workers "
      "WHERE CAST(json_extract(record, '$.managerId') AS TEXT) = ?1 ORDER BY worker_id");
  q.bind(1, manager_id);
  std::vector<std::string> ids;
  while (q.step()) ids.push_back(q.text(0));
  return ids;
}

}  // namespace prov
