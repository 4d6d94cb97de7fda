// Opening, pragmas, transactions and store-wide queries. Table families live in their own files.
#include "store/sqlite_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <thread>

#include "prov/ascii.h"
#include "store/schema.h"
#include "store/wal_vfs.h"

namespace prov {
namespace {

// The engine, the ingest writer and the CLI share one file; a writer waits this long for another
// to finish its transaction before giving up with SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 5000;

constexpr std::string_view kEventStatusNames[] = {"pending", "applied", "stale", "scheduled"};
constexpr std::string_view kOpStatusNames[] = {"pending", "held", "done", "failed", "rejected"};

// Waits for another connection's write transaction to end. sqlite3_busy_timeout sleeps in steps
// that grow to 100 ms, so under load one writer (the ingest thread, the engine) regularly lost
// tens of milliseconds waiting for a lock the other had released long before; a commit here takes
// about a millisecond, so poll in short steps (20 µs doubling to 1 ms) until the same deadline.
int wait_for_writer(void* /*unused*/, int attempt) {
  using namespace std::chrono;
  static thread_local steady_clock::time_point started;
  const auto now = steady_clock::now();
  if (attempt == 0) started = now;
  if (now - started >= milliseconds(kBusyTimeoutMs)) return 0;  // give up: SQLITE_BUSY
  const auto step = microseconds(std::min(1000, 20 << std::min(attempt, 6)));
  std::this_thread::sleep_for(step);
  return 1;
}

// One write turn per database file for the writers of this process (the ingest writer, the engine,
// the source runner). SQLite's own lock makes a second writer poll; in-process they queue here
// instead, in order, and the next one starts the moment a commit ends rather than up to a polling
// step (a millisecond) later. Writers in other processes (provisionctl) still meet SQLite's lock
// and the busy handler above.
std::shared_ptr<WriterTurn> writers_of(const std::filesystem::path& path) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<WriterTurn>> registry;
  std::error_code ec;
  auto key = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) key = path.string();
  std::lock_guard lock(registry_mutex);
  auto& weak = registry[key];
  auto shared = weak.lock();
  if (!shared) {
    shared = std::make_shared<WriterTurn>();
    weak = shared;
  }
  return shared;
}

void configure_writer(sql::Database& db, CommitSync sync) {
  // WAL lets readers (CLI, admin API) run beside the writer. FULL syncs the WAL on every commit;
  // NORMAL leaves it to sync() (the ingest writer's, before a 202) and to checkpoints.
  {
    auto q = db.query("PRAGMA journal_mode=WAL");
    if (!q.step() || q.text(0) != "wal") {
      throw StoreError("state database " + db.path().string() +
                       " cannot use write-ahead logging (journal_mode is '" +
                       (q.is_null(0) ? std::string() : q.text(0)) + "')");
    }
  }
  db.exec(sync == CommitSync::EachCommit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  sql::require_synchronous(db);  // what the coalescing WAL VFS relies on
  db.exec("PRAGMA foreign_keys=ON");
}

}  // namespace

bool WriterTurn::acquire_for(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  if (!held_ && waiting_.empty()) {
    held_ = true;
    return true;
  }
  const std::uint64_t me = ++tickets_;
  waiting_.push_back(me);
  if (!cv_.wait_for(lock, limit, [&] { return !held_ && waiting_.front() == me; })) {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), me));
    cv_.notify_all();  // whoever was behind us may be first now
    return false;
  }
  waiting_.pop_front();
  held_ = true;
  return true;
}

bool WriterTurn::anyone_waiting() {
  std::lock_guard lock(mu_);
  return !waiting_.empty();
}

void WriterTurn::release() {
  {
    std::lock_guard lock(mu_);
    held_ = false;
  }
  cv_.notify_all();
}

std::string_view to_string(EventStatus s) { return kEventStatusNames[static_cast<int>(s)]; }

std::string_view to_string(OpStatus s) { return kOpStatusNames[static_cast<int>(s)]; }

std::optional<OpStatus> parse_op_status(std::string_view s) {
  const std::string lower = ascii_lower(s);
  for (std::size_t i = 0; i < std::size(kOpStatusNames); ++i) {
    if (kOpStatusNames[i] == lower) return static_cast<OpStatus>(i);
  }
  return std::nullopt;
}

SqliteStore::SqliteStore(const std::filesystem::path& path, sql::Database::Mode mode,
                         CommitSync sync)
    // Writers sync every commit (configure_writer), which the coalescing WAL VFS relies on.
    : db_(path, mode,
          mode == sql::Database::Mode::ReadWrite ? sql::coalescing_wal_vfs() : nullptr),
      sync_mode_(sync) {
  sqlite3_busy_handler(db_.handle(), wait_for_writer, nullptr);
  // Two connections write (ingest, engine), so each finds its page cache stale after the other's
  // commit and reads pages again: memory-mapped reads make that a memcpy instead of a pread
  // system call per page. Writes still go through the WAL. A reader (provisionctl) reads what
  // it reads once, and every mapped page it touched would count in its resident memory: a
  // command walking a million workers stays within its page cache instead.
  if (mode == sql::Database::Mode::ReadWrite) db_.exec("PRAGMA mmap_size=268435456");
  db_.exec("PRAGMA cache_size=-16384");
  // Checkpoint every ~80 MB of WAL rather than every 4 MB: the inbox, outbox and account pages
  // that every event rewrites are copied back to the database once per interval, not once per
  // small interval (about a third more durable ingest under load); the WAL is cut back to
  // 64 MB after each checkpoint.
  db_.exec("PRAGMA wal_autocheckpoint=20000");
  db_.exec("PRAGMA journal_size_limit=67108864");
  if (mode == sql::Database::Mode::ReadWrite) {
    writers_ = writers_of(path);
    configure_writer(db_, sync);
    schema::migrate(db_, schema::migrations());
    return;
  }
  db_.exec("PRAGMA foreign_keys=ON");
  const int version = schema::read_version(db_);
  const int latest = schema::latest_version();
  if (version == 0) {
    throw StoreError("state database " + path.string() +
                     " has no provisiond schema (empty or not a provisiond database)");
  }
  if (version > latest) {
    throw StoreError("state database " + path.string() + " has schema version " +
                     std::to_string(version) + ", newer than this build supports (" +
                     std::to_string(latest) + ")");
  }
  if (version < latest) {
    throw StoreError("state database " + path.string() + " has schema version " +
                     std::to_string(version) + ", older than this build's " +
                     std::to_string(latest) +
                     "; start provisiond once (or open it read-write) to migrate it");
  }
}

std::unique_ptr<Store> Store::open(const std::filesystem::path& path, CommitSync sync) {
  return std::make_unique<SqliteStore>(path, sql::Database::Mode::ReadWrite, sync);
}

void SqliteStore::sync() {
  if (depth_ > 0)
    throw StoreError("sync of " + db_.path().string() + " inside a transaction: nothing to sync yet");
  if (!unsynced_) return;  // EachCommit: every commit synced itself
  sql::sync_wal(db_);
  unsynced_ = false;
}

std::unique_ptr<Store> Store::open_read_only(const std::filesystem::path& path) {
  return std::make_unique<SqliteStore>(path, sql::Database::Mode::ReadOnly);
}

void SqliteStore::transaction(const std::function<void()>& f) {
  if (depth_ == 0) {
    struct Turn {
      WriterTurn* turn = nullptr;
      ~Turn() {
        if (turn) turn->release();
      }
    } writer;
    if (writers_) {
      if (!writers_->acquire_for(std::chrono::milliseconds(kBusyTimeoutMs)))
        throw StoreError("transaction on " + db_.path().string() + ": another writer of this " +
                         "process held the database for " + std::to_string(kBusyTimeoutMs) + " ms");
      writer.turn = writers_.get();
    }
    db_.query("BEGIN IMMEDIATE").run();
    depth_ = 1;
    try {
      f();
    } catch (...) {
      depth_ = 0;
      // After disk-full or I/O errors SQLite may already have rolled back on its own.
      if (db_.in_transaction()) {
        try {
          db_.query("ROLLBACK").run();
        } catch (const StoreError&) {
          // Keep the caller's exception; it says why we are rolling back.
        }
      }
      throw;
    }
    depth_ = 0;
    if (!db_.in_transaction()) {
      // A statement inside f failed, SQLite rolled everything back, and f caught the error.
      // Committing now would silently lose the earlier writes.
      throw StoreError("transaction on " + db_.path().string() +
                       " was rolled back by SQLite after an earlier error");
    }
    try {
      db_.query("COMMIT").run();
      unsynced_ = sync_mode_ == CommitSync::OnRequest;
    } catch (...) {
      if (db_.in_transaction()) {
        try {
          db_.query("ROLLBACK").run();
        } catch (const StoreError&) {
        }
      }
      throw;
    }
    return;
  }

  // Nested: join the outer transaction through a savepoint, so an inner failure the caller
  // catches undoes only the inner work.
  if (!db_.in_transaction()) {
    throw StoreError("transaction on " + db_.path().string() +
                     " was rolled back by SQLite after an earlier error");
  }
  const std::string name = "nested_" + std::to_string(depth_);
  db_.query("SAVEPOINT " + name).run();
  ++depth_;
  try {
    f();
  } catch (...) {
    --depth_;
    if (db_.in_transaction()) {
      try {
        db_.query("ROLLBACK TO " + name).run();
        db_.query("RELEASE " + name).run();
      } catch (const StoreError&) {
      }
    }
    throw;
  }
  --depth_;
  db_.query("RELEASE " + name).run();
}

int SqliteStore::schema_version() { return schema::read_version(db_); }

std::string SqliteStore::integrity_check() {
  auto q = db_.query("PRAGMA integrity_check");
  std::string result;
  while (q.step()) {
    if (!result.empty()) result += '\n';
    result += q.text(0);
  }
  return result;
}

StoreCounts SqliteStore::counts() {
  // Queues: walks of partial or status indexes over rows that come and go. The rest: counters.
  auto q = db_.query(R"sql(SELECT
      (SELECT COUNT(*) FROM inbox WHERE status = 'pending'),
      (SELECT value FROM counters WHERE name = 'workers'),
      (SELECT value FROM counters WHERE name = 'accounts'),
      (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),
      (SELECT COUNT(*) FROM outbox WHERE status = 'held'),
      (SELECT COUNT(*) FROM outbox WHERE status = 'failed'),
      (SELECT value FROM counters WHERE name = 'ops_done'),
      (SELECT value FROM counters WHERE name = 'audit'),
      (SELECT COUNT(*) FROM schedule))sql");
  q.step();
  StoreCounts c;
  c.inbox_pending = q.int64(0);
  c.workers = q.int64(1);
  c.accounts = q.int64(2);
  c.ops_pending = q.int64(3);
  c.ops_held = q.int64(4);
  c.ops_failed = q.int64(5);
  c.ops_done = q.int64(6);
  c.audit = q.int64(7);
  c.schedule_pending = q.int64(8);
  return c;
}

StoreCounts SqliteStore::queue_counts() {
  auto q = db_.query(R"sql(SELECT
      (SELECT COUNT(*) FROM inbox WHERE status = 'pending'),
      (SELECT value FROM counters WHERE name = 'accounts'),
      (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),
      (SELECT COUNT(*) FROM outbox WHERE status = 'held'),
      (SELECT COUNT(*) FROM outbox WHERE status = 'failed'))sql");
  q.step();
  StoreCounts c;
  c.inbox_pending = q.int64(0);
  c.accounts = q.int64(1);
  c.ops_pending = q.int64(2);
  c.ops_held = q.int64(3);
  c.ops_failed = q.int64(4);
  return c;
}

std::map<std::string, StoreCounts> SqliteStore::queue_counts_by_target() {
  // Rows written before targets existed name none: they were the one directory's.
  auto q = db_.query(R"sql(SELECT COALESCE(json_extract(payload, '$.target'), 'directory'),
                                  status, COUNT(*)
                             FROM outbox WHERE status IN ('pending', 'held', 'failed')
                            GROUP BY 1, 2)sql");
  std::map<std::string, StoreCounts> out;
  while (q.step()) {
    StoreCounts& c = out[q.text(0)];
    const std::string status = q.text(1);
    (status == "pending" ? c.ops_pending : status == "held" ? c.ops_held : c.ops_failed) =
        q.int64(2);
  }
  return out;
}

Json parse_json_column(const std::string& text, std::string_view where) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw StoreError("unreadable JSON in " + std::string(where) + ": " + e.what());
  }
}

}  // namespace prov
