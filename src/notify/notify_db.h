#pragma once
// The notifier's own connection to the state database: the notification outbox, its cursor,
// and reads of the audit, worker records and accounts. The engine's Store is not shared: the
// notifier runs on its own thread, and its small transactions meet the engine's like any other
// writer's (SQLite's lock, a busy wait bounded at 5 s).
#include <filesystem>
#include <functional>

#include "prov/notify.h"
#include "store/sqlite.h"

namespace prov::notify {

class NotifyDb {
 public:
  // Opens the database through the Store first, which creates and migrates the schema.
  explicit NotifyDb(const std::filesystem::path& path);
  sql::Database& db() { return db_; }
  // BEGIN IMMEDIATE … COMMIT; rolls back and rethrows if f throws.
  void transaction(const std::function<void()>& f);

  // The columns read_row() expects, in order, for SELECT lists.
  static constexpr const char* kColumns =
      "id, audit_id, rule, channel, destination, worker_id, trigger, subject, body, status, "
      "attempts, next_attempt_at, created_at, sent_at, last_error";
  static NotificationRow read_row(const sql::Query& q);

 private:
  sql::Database db_;
};

std::string_view status_name(NotificationStatus s);
std::optional<NotificationStatus> parse_status(std::string_view s);

}  // namespace prov::notify
