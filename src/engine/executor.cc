#include "executor.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "lifecycle.h"
#include "prov/fault.h"
#include "prov/log.h"
#include "prov/metrics.h"
#include "prov/thread_name.h"

namespace prov {
namespace {

// After a lane failed to connect, it tries again after this long; meanwhile its operations
// wait in the outbox without using up attempts (an outage delays, never drops).
constexpr auto kReconnectPause = std::chrono::milliseconds(500);
// How often the store is asked for ready operations even when nothing here changed.
constexpr auto kPoll = std::chrono::milliseconds(100);

double seconds_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

struct Executor::Lane {
  bool locks = false;
  std::string name;
  std::unique_ptr<DirectoryConnector> owned;
  DirectoryConnector* connector = nullptr;
  // Whether `connector` is bound. Inline lanes share one connector, so they share this flag.
  bool own_connected = false;
  bool* connected = &own_connected;

  // Engine thread only.
  std::vector<OutboxRow> rows;  // the batch in flight; empty: idle
  std::chrono::steady_clock::time_point retry_connect_at{};

  // Hand-over between the engine thread and the lane's thread.
  std::mutex mu;
  std::condition_variable job_cv, done_cv;
  std::optional<std::vector<Operation>> job;
  std::optional<Batch> done;
  bool stop = false;
  std::thread thread;
};

Executor::Executor(Store& store, const Clock& clock, const Config& config, std::string target,
                   ExecutorHooks hooks, DirectoryConnector* connector)
    : store_(store),
      clock_(clock),
      config_(config),
      target_(std::move(target)),
      hooks_(std::move(hooks)) {
  if (!connector) return;
  for (bool locks : {true, false}) {
    auto lane = std::make_unique<Lane>();
    lane->locks = locks;
    lane->name = locks ? "locks" : "writes";
    lane->connector = connector;
    lanes_.push_back(std::move(lane));
  }
  lanes_[1]->connected = &lanes_[0]->own_connected;
}

Executor::~Executor() {
  for (auto& lane : lanes_) {
    if (!lane->thread.joinable()) continue;
    {
      std::lock_guard l(lane->mu);
      lane->stop = true;
    }
    lane->job_cv.notify_all();
    lane->thread.join();  // a batch on the wire finishes first: the connector outlives it
  }
}

void Executor::start_lanes(const Factory& make) {
  lanes_.clear();
  const int writers = std::max(1, config_.executor.connections);
  for (int i = 0; i <= writers; ++i) {
    auto lane = std::make_unique<Lane>();
    lane->locks = i == 0;
    lane->name = i == 0 ? "locks" : "writes-" + std::to_string(i);
    lane->owned = make();
    lane->connector = lane->owned.get();
    lanes_.push_back(std::move(lane));
  }
  threaded_ = true;
  for (auto& lane : lanes_) {
    Lane* l = lane.get();
    l->thread = std::thread([this, l] {
      name_this_thread(l->locks ? "prov-dir-locks" : "prov-dir-writes");
      lane_loop(*l);
    });
  }
}

bool Executor::busy() const {
  return std::any_of(lanes_.begin(), lanes_.end(), [](const auto& l) { return !l->rows.empty(); });
}

std::optional<std::chrono::steady_clock::time_point> Executor::reconnect_at() const {
  const auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> at;
  for (const auto& lane : lanes_)
    if (lane->retry_connect_at > now && (!at || lane->retry_connect_at < *at))
      at = lane->retry_connect_at;
  return at;
}

// ---------------------------------------------------------------------------------------------
// dispatch (engine thread)

void Executor::planned(OpKind kind) {
  (kind == OpKind::Disable ? locks_dirty_ : writes_dirty_) = true;
}

int Executor::dispatch() {
  if (lanes_.empty()) return 0;
  const auto steady = std::chrono::steady_clock::now();
  // Inline (tests, with a hand-set clock): ask every time, so retries follow that clock.
  if (!threaded_ || steady - last_poll_ >= kPoll) {
    locks_dirty_ = writes_dirty_ = true;
    last_poll_ = steady;
  }
  const int batch = config_.executor.batch_size;
  int sent = 0;
  // The lock lane first: a lock planned a moment ago goes out before anything else is chosen.
  Lane& locks = *lanes_[0];
  if (locks_dirty_ && locks.rows.empty() && steady >= locks.retry_connect_at) {
    auto rows = store_.ready_operations(target_, clock_.now(), batch, Store::Lane::Locks);
    locks_dirty_ = static_cast<int>(rows.size()) >= batch;  // more may be waiting
    std::erase_if(rows, [&](const OutboxRow& r) { return in_flight_ops_.count(r.op.id) > 0; });
    if (!rows.empty()) sent += dispatch_to(locks, std::move(rows));
  }

  std::vector<Lane*> idle;
  for (std::size_t i = 1; i < lanes_.size(); ++i)
    if (lanes_[i]->rows.empty() && steady >= lanes_[i]->retry_connect_at)
      idle.push_back(lanes_[i].get());
  if (idle.empty() || !writes_dirty_) return sent;
  auto rows = ready_writes(batch * static_cast<int>(idle.size()));
  if (rows.empty()) return sent;
  // Share the ready operations out evenly, so a small burst uses every connection, and never
  // split one worker's operations between two lanes (their order is kept within a batch).
  const std::size_t per =
      std::min<std::size_t>(batch, (rows.size() + idle.size() - 1) / idle.size());
  std::size_t next = 0;
  for (Lane* lane : idle) {
    if (next >= rows.size()) break;
    std::vector<OutboxRow> part;
    while (next < rows.size() && part.size() < per) {
      const std::string& worker = rows[next].op.worker_id;
      while (next < rows.size() && rows[next].op.worker_id == worker)
        part.push_back(std::move(rows[next++]));
    }
    sent += dispatch_to(*lane, std::move(part));
  }
  return sent;
}

// Ready writes, grouped by worker (a worker's rows in id order, workers oldest first), without
// the workers that already have operations in a write lane.
std::vector<OutboxRow> Executor::ready_writes(int limit) {
  const int asked = limit + static_cast<int>(in_flight_ops_.size());
  auto rows = store_.ready_operations(target_, clock_.now(), asked, Store::Lane::Writes);
  writes_dirty_ = static_cast<int>(rows.size()) >= asked;  // more may be waiting
  std::map<std::string, std::size_t> first_seen;
  std::vector<std::vector<OutboxRow>> by_worker;
  for (auto& r : rows) {
    if (in_flight_ops_.count(r.op.id) || in_flight_writes_.count(r.op.worker_id)) continue;
    auto [it, fresh] = first_seen.try_emplace(r.op.worker_id, by_worker.size());
    if (fresh) by_worker.emplace_back();
    by_worker[it->second].push_back(std::move(r));
  }
  std::vector<OutboxRow> out;
  for (auto& group : by_worker) {
    if (static_cast<int>(out.size()) >= limit) break;
    for (auto& r : group) out.push_back(std::move(r));
  }
  return out;
}

int Executor::dispatch_to(Lane& lane, std::vector<OutboxRow> rows) {
  std::vector<Operation> ops;
  ops.reserve(rows.size());
  // A worker's rows are adjacent: their account is read once.
  std::optional<std::string> account_of;
  std::optional<AccountRow> acc;
  for (auto& r : rows) {
    // The DN is known only once the create has run: take it from what the directory confirmed.
    if (account_of != r.op.worker_id) {
      account_of = r.op.worker_id;
      acc = store_.account(target_, r.op.worker_id);
    }
    if (acc && acc->applied.exists) {
      if (!acc->applied.dn.empty()) r.op.dn = acc->applied.dn;
      if (!acc->applied.anchor.empty()) r.op.anchor = acc->applied.anchor;
    }
    ops.push_back(r.op);
    in_flight_ops_.insert(r.op.id);
    if (!lane.locks) ++in_flight_writes_[r.op.worker_id];
  }
  const int n = static_cast<int>(rows.size());
  lane.rows = std::move(rows);
  if (threaded_) {
    {
      std::lock_guard l(lane.mu);
      lane.job = std::move(ops);
    }
    lane.job_cv.notify_one();
  } else {
    lane.done = run(lane, ops);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// the lanes' side: only the lane's connector is touched here

Executor::Batch Executor::run(Lane& lane, const std::vector<Operation>& ops) {
  Batch b;
  if (!*lane.connected) {
    b.connected = lane.connector->connect();
    if (!b.connected.ok()) return b;
    *lane.connected = true;
  }
  try {
    b.outcomes = lane.connector->apply_batch(ops);
  } catch (const std::exception& e) {
    // A connector must not throw, but if one does, its operations are retried later and the
    // executor goes on (reconnecting first: the connection's state is unknown).
    b.outcomes.clear();
    log::error("connector threw: its operations will be retried",
               {{"lane", lane.name}, {"error", e.what()}});
  }
  if (b.outcomes.size() != ops.size())
    b.outcomes.assign(ops.size(), Outcome::retryable("executor:connector",
                                                     "the connector did not report an outcome"));
  for (const auto& o : b.outcomes)
    if (o.kind == Outcome::Kind::Retryable) *lane.connected = false;  // reconnect before retrying
  return b;
}

void Executor::lane_loop(Lane& lane) {
  for (;;) {
    std::vector<Operation> ops;
    {
      std::unique_lock l(lane.mu);
      lane.job_cv.wait(l, [&] { return lane.stop || lane.job.has_value(); });
      if (!lane.job) return;
      ops = std::move(*lane.job);
      lane.job.reset();
    }
    Batch b = run(lane, ops);
    {
      std::lock_guard l(lane.mu);
      lane.done = std::move(b);
    }
    lane.done_cv.notify_all();
    if (hooks_.wake) hooks_.wake();
  }
}

// ---------------------------------------------------------------------------------------------
// collect (engine thread)

int Executor::collect(bool wait) {
  int n = 0;
  for (auto& lane : lanes_) {
    if (lane->rows.empty()) continue;
    std::optional<Batch> b;
    {
      std::unique_lock l(lane->mu);
      if (wait) lane->done_cv.wait(l, [&] { return lane->done.has_value(); });
      if (lane->done) {
        b = std::move(lane->done);
        lane->done.reset();
      }
    }
    if (!b) continue;
    const int recorded = static_cast<int>(lane->rows.size());
    record(*lane, std::move(*b));
    n += recorded;
  }
  return n;
}

void Executor::record(Lane& lane, Batch batch) {
  std::vector<OutboxRow> rows = std::move(lane.rows);
  lane.rows.clear();
  locks_dirty_ = writes_dirty_ = true;  // the next operations of these workers may be ready
  for (const auto& r : rows) {
    in_flight_ops_.erase(r.op.id);
    if (!lane.locks) {
      auto it = in_flight_writes_.find(r.op.worker_id);
      if (it != in_flight_writes_.end() && --it->second <= 0) in_flight_writes_.erase(it);
    }
  }
  note_connect(batch.connected);
  if (!batch.connected.ok()) {
    if (threaded_) lane.retry_connect_at = std::chrono::steady_clock::now() + kReconnectPause;
    return;  // nothing was sent: the operations stay pending, their attempts untouched
  }
  PROV_FAULT_POINT("after_directory_write");
  // A batch's outcomes share commits (complete() joins the transaction), each holding the write
  // lock for at most kRecordBudget, less when the ingest writer waits: a batch of hundreds of
  // outcomes would otherwise keep it — and every webhook waiting for its 202 — out for tens of
  // milliseconds. An
  // outcome not yet committed when the process dies is applied again: operations are idempotent.
  constexpr auto kRecordBudget = std::chrono::milliseconds(8);
  for (std::size_t next = 0; next < rows.size();) {
    const auto until = std::chrono::steady_clock::now() + kRecordBudget;
    store_.transaction([&] {
      // A worker's rows are adjacent in a batch (a hire's create and group additions): its
      // account is read once per transaction and kept current here as each outcome lands.
      KnownAccount known;
      std::size_t i = next;
      do {
        complete(rows[i], batch.outcomes[i], known);
        ++i;
      } while (i < rows.size() && std::chrono::steady_clock::now() < until &&
               !store_.writer_waiting());
      next = i;
    });
  }
}

void Executor::note_connect(const Status& st) {
  if (st.ok()) {
    if (health_.exchange(ExecutorHealth::Ok) != ExecutorHealth::Ok)
      log::info("directory reachable again: executor resumed", {{"target", target_}});
    return;
  }
  const auto h = st.error().retryable ? ExecutorHealth::DirectoryUnavailable
                                      : ExecutorHealth::CredentialsRejected;
  if (health_.exchange(h) != h) {
    log::error(h == ExecutorHealth::CredentialsRejected
                   ? "directory rejected the service credentials: executor stopped until fixed"
                   : "directory unavailable: operations wait",
               {{"target", target_}, {"error", st.error().message}});
  }
}

std::chrono::milliseconds Executor::backoff(int attempts) const {
  static thread_local std::mt19937 rng{std::random_device{}()};
  double base = config_.executor.retry_initial_ms * std::pow(2.0, std::min(attempts, 20));
  base = std::min(base, static_cast<double>(config_.executor.retry_max_ms));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);  // spread retries after an outage
  return std::chrono::milliseconds(static_cast<int64_t>(base * jitter(rng)));
}

void Executor::complete(const OutboxRow& row, const Outcome& outcome, KnownAccount& known) {
  const Operation& op = row.op;
  const auto now = clock_.now();
  const std::string kind(to_string(op.kind));
  auto& m = Metrics::global();
  m.inc("provisiond_operations_total",
        {{"kind", kind}, {"outcome", std::string(to_string(outcome.kind))}, {"target", target_}});
  log::Fields ids{{"op_id", std::to_string(op.id)},
                  {"worker_id", op.worker_id},
                  {"op", kind},
                  {"target", target_}};
  std::vector<std::string> relink;
  store_.transaction([&] {
    AuditRecord a;
    a.at = now;
    a.worker_id = op.worker_id;
    a.event_id = row.event_id;
    a.op_id = op.id;
    if (outcome.is_ok()) {
      store_.set_op_status(op.id, OpStatus::Done, "");
      if (known.worker_id != op.worker_id) {
        known.worker_id = op.worker_id;
        known.row = store_.account(target_, op.worker_id);
      }
      auto& acc = known.row;
      Account applied = acc ? acc->applied : Account{};
      applied.target = target_;
      applied.worker_id = op.worker_id;
      applied = project(applied, op);
      if (op.kind != OpKind::Delete) {
        if (!outcome.dn.empty()) applied.dn = outcome.dn;
        if (!outcome.anchor.empty()) applied.anchor = outcome.anchor;
      }
      store_.put_applied(applied);
      // Keep the plan's view of DN/anchor current for later operations; a group change leaves
      // both as they were, and its plan is not written again.
      if (acc && (acc->planned.dn != applied.dn || acc->planned.anchor != applied.anchor)) {
        acc->planned.dn = applied.dn;
        acc->planned.anchor = applied.anchor;
        store_.put_planned(acc->planned);
      }
      if (acc) {
        acc->applied = applied;
      } else {  // put_applied made the row, with planned = applied
        acc = AccountRow{applied, applied};
      }
      if (op.kind == OpKind::Delete) {
        if (auto pol = hooks_.policy ? hooks_.policy() : nullptr; pol && pol->reserve_days() > 0)
          store_.reserve_username(op.username, op.worker_id,
                                  now + std::chrono::hours(24) * pol->reserve_days());
      }
      a.action = "op.applied";
      a.detail = {{"op", to_json(op)},
                  {"dn", applied.dn},
                  {"already_done", outcome.already_done},
                  {"summary", describe(op)}};
      if (op.kind == OpKind::Create || op.kind == OpKind::Move)
        relink = store_.reports_of(op.worker_id);
      ids.emplace_back("dn", applied.dn);
      if (auto received = store_.event_received_at(row.event_id))
        m.observe("provisiond_event_to_directory_seconds", {{"kind", kind}, {"target", target_}},
                  std::max(0.0, seconds_between(*received, now)));
    } else if (outcome.kind == Outcome::Kind::Retryable &&
               (config_.executor.max_attempts == 0 ||
                row.attempts + 1 < config_.executor.max_attempts)) {
      store_.schedule_retry(op.id, now + std::max(backoff(row.attempts), outcome.retry_after),
                            outcome.code + " " + outcome.message);
      m.inc("provisiond_operation_retries_total", {{"kind", kind}, {"target", target_}});
      a.action = "op.retry";
      a.detail = {
          {"code", outcome.code}, {"message", outcome.message}, {"attempt", row.attempts + 1}};
    } else {
      store_.set_op_status(op.id, OpStatus::Failed, outcome.code + " " + outcome.message);
      a.action = "op.failed";
      a.detail = {{"code", outcome.code}, {"message", outcome.message}, {"op", to_json(op)}};
    }
    a.detail["target"] = target_;  // every outcome's record names the target it happened in
    store_.audit(a);
    // A manager's account now has a DN: link every report to it.
    if (hooks_.relink && !relink.empty()) {
      for (const auto& report : relink) hooks_.relink(report);
      known.worker_id.clear();  // re-planning wrote accounts: read again
    }
  });
  if (outcome.is_ok()) {
    log::info("operation applied", ids);
  } else {
    ids.emplace_back("code", outcome.code);
    ids.emplace_back("error", outcome.message);
    log::warn(
        outcome.kind == Outcome::Kind::Retryable ? "operation will be retried" : "operation failed",
        ids);
  }
}

}  // namespace prov
