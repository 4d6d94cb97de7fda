// Username reservations: a released name stays taken for a while so mail and files addressed to
// the old holder never reach a new one.
#include "store/sqlite_store.h"

namespace prov {

void SqliteStore::reserve_username(const std::string& username, const std::string& worker_id,
                                   TimePoint until) {
  db_.query(R"sql(INSERT INTO reservations(username, worker_id, until) VALUES (?1, ?2, ?3)
      ON CONFLICT(username) DO UPDATE SET worker_id = excluded.worker_id,
        until = excluded.until)sql")
      .bind_all(username, worker_id, until)
      .run();
}

bool SqliteStore::username_reserved(const std::string& username, const std::string& worker_id,
                                    TimePoint now) {
  auto q = db_.query(
      "SELECT 1 FROM reservations WHERE username = ?1 AND worker_id <> ?2 AND until > ?3");
  q.bind_all(username, worker_id, now);
  return q.step();
}

}  // namespace prov
