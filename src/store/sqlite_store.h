#pragma once
// The Store on one SQLite connection. Each table family's methods live in their own file
// (inbox.cc, workers.cc, accounts.cc, outbox.cc, schedule.cc, reservations.cc, entitlements.cc,
// audit.cc); this header is the one class they share.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "prov/store.h"
#include "store/sqlite.h"

namespace prov {

// The write turn of one database file among the writers of this process, handed over in the
// order they asked for it: with a plain mutex the engine, committing group after group, took the
// turn again before the woken ingest writer ran, and acknowledgements waited behind it.
class WriterTurn {
 public:
  bool acquire_for(std::chrono::milliseconds limit);  // false: not our turn within `limit`
  void release();
  bool anyone_waiting();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  std::deque<std::uint64_t> waiting_;
  std::uint64_t tickets_ = 0;
};

// Rows per page of the for_each_* readers: big enough that a page costs one index seek among
// hundreds of rows, small enough that a page of full worker records stays well under a megabyte.
inline constexpr int kPageRows = 256;

// An account as the accounts table's JSON columns hold it (the target is a column of its own).
Json account_to_json(const Account& a);
Account account_from_json(const Json& j, std::string_view where);

// Parses JSON read back from a column; a parse failure means the file was damaged or written by
// something else, so it is a StoreError naming the row.
Json parse_json_column(const std::string& text, std::string_view where);

// The detail of an `event.stored` receipt, whether read from the inbox row or, once retention
// deleted that row, from the audit row that replaced it.
Json receipt_detail(std::int64_t inbox_id, const std::string& event_type, TimePoint effective_at,
                    const std::string& source);

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::filesystem::path& path, sql::Database::Mode mode,
              CommitSync sync = CommitSync::EachCommit);

  void transaction(const std::function<void()>& f) override;
  bool in_transaction() const override { return depth_ > 0; }
  void sync() override;
  bool writer_waiting() const override { return writers_ && writers_->anyone_waiting(); }
  int schema_version() override;
  std::string integrity_check() override;

  using Store::insert_event;
  IngestResult insert_event(const HrEvent& event, const std::string& body) override;
  std::vector<InboxRow> pending_events(int limit) override;
  std::vector<InboxRow> pending_leaver_events(int limit) override;
  std::optional<InboxRow> event(const std::string& event_id) override;
  std::optional<TimePoint> event_received_at(const std::string& event_id) override;
  void set_event_status(std::int64_t inbox_id, EventStatus status,
                        const std::string& note) override;
  std::vector<InboxRow> due_events(TimePoint now, int limit) override;
  std::int64_t inbox_depth() override;

  std::optional<Worker> worker(const std::string& worker_id) override;
  void put_worker(const Worker& worker) override;
  std::vector<Worker> workers() override;
  void for_each_worker(const std::function<void(const Worker&)>& visit) override;
  std::vector<std::string> reports_of(const std::string& manager_id) override;

  std::optional<AccountRow> account(const std::string& target,
                                    const std::string& worker_id) override;
  std::optional<AccountRow> account_by_username(const std::string& username) override;
  void put_planned(const Account& planned) override;
  void put_applied(const Account& applied) override;
  std::vector<AccountRow> accounts() override;
  void for_each_account(const std::string& target,
                        const std::function<void(const AccountRow&)>& visit) override;

  std::int64_t enqueue(const Operation& op, OpStatus status, const std::string& event_id,
                       TimePoint now) override;
  std::vector<OutboxRow> next_operations(TimePoint now, int limit) override;
  std::vector<OutboxRow> ready_operations(const std::string& target, TimePoint now, int limit,
                                         Lane lane) override;
  std::optional<OutboxRow> operation(std::int64_t id) override;
  std::vector<OutboxRow> operations(OpStatus status, int limit) override;
  std::vector<OutboxRow> operations_of(const std::string& worker_id) override;
  bool has_unfinished_operations(const std::string& target,
                                 const std::string& worker_id) override;
  void set_op_status(std::int64_t id, OpStatus status, const std::string& error) override;
  void schedule_retry(std::int64_t id, TimePoint next_attempt_at,
                      const std::string& error) override;
  std::optional<TimePoint> next_retry_at(TimePoint after) override;
  std::int64_t destructive_workers_since(const std::string& target, TimePoint since) override;
  bool destructive_worker_since(const std::string& target, const std::string& worker_id,
                                TimePoint since) override;

  void add_schedule(const std::string& worker_id, TimePoint due_at,
                    const std::string& reason) override;
  std::vector<ScheduleRow> due_schedules(TimePoint now) override;
  void remove_schedule(std::int64_t id) override;
  std::optional<TimePoint> next_schedule_at() override;

  void reserve_username(const std::string& username, const std::string& worker_id,
                        TimePoint until) override;
  bool username_reserved(const std::string& username, const std::string& worker_id,
                         TimePoint now) override;

  void allocate_entitlement(const std::string& worker_id, const std::string& ent,
                            TimePoint at) override;
  void release_entitlement(const std::string& worker_id, const std::string& ent,
                           TimePoint at) override;
  std::vector<EntitlementRow> entitlements(const std::string& worker_id) override;
  std::vector<EntitlementRow> released_entitlements(TimePoint since) override;

  std::int64_t audit(const AuditRecord& record) override;
  std::optional<AuditHead> audit_head() override;
  AuditCheck verify_audit() override;
  std::vector<AuditRecord> audit_log(const std::string& worker_id, int limit) override;

  StoreCounts counts() override;
  StoreCounts queue_counts() override;
  std::map<std::string, StoreCounts> queue_counts_by_target() override;

  CompactReport compact(const RetentionConfig& retention, TimePoint now) override;

  sql::Database& database() { return db_; }

 private:
  sql::Database db_;
  int depth_ = 0;  // transaction nesting; > 1 means inside a savepoint
  CommitSync sync_mode_;
  bool unsynced_ = false;  // OnRequest: a commit since the last sync()
  // Shared by every read-write connection of this process to the same file; see transaction().
  std::shared_ptr<WriterTurn> writers_;
};

}  // namespace prov
