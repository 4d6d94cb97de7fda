#include "prov/engine.h"

#include <algorithm>
#include <future>
#include <set>

#include "engine_parts.h"
#include "executor.h"
#include "lifecycle.h"
#include "prov/durable_file.h"
#include "prov/fault.h"
#include "prov/log.h"
#include "prov/metrics.h"
#include "prov/thread_name.h"

namespace prov {
namespace {

// Events planned per round of apply_pending_events (one username question per target each).
constexpr std::size_t kPlanningGroup = 256;

// The event id of plans a policy change makes: the brake's `policy_change` rules apply to them.
constexpr const char* kPolicyChange = "policy-reload";

double seconds_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

Engine::Engine(Store& store, std::vector<DirectoryConnector*> connectors, const Clock& clock,
               Config config, std::shared_ptr<const Policy> policy)
    : store_(store), clock_(clock), config_(std::move(config)), policy_(std::move(policy)) {
  if (config_.targets.empty()) config_.targets.emplace_back();  // the target named `directory`
  ExecutorHooks hooks;
  hooks.policy = [this] { return this->policy(); };
  hooks.relink = [this](const std::string& report) {
    plan_worker(report, false, "manager-linked");
  };
  hooks.wake = [this] { wake(); };
  targets_.resize(config_.targets.size());
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    Target& t = targets_[i];
    t.name = config_.targets[i].name;
    t.is_default = i == 0;
    t.connector = i < connectors.size() ? connectors[i] : nullptr;
    t.executor = std::make_unique<Executor>(store_, clock_, config_, t.name, hooks, t.connector);
  }
}

// The executors' lanes finish the batches they are on before the engine goes.
Engine::~Engine() = default;

void Engine::set_lookup_connector(AccountReader* lookup, std::size_t target) {
  targets_.at(target).lookup = lookup;
}

void Engine::start_executor(const ConnectorMaker& make) {
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    const DirectoryConfig& cfg = config_.targets[i];
    targets_[i].executor->start_lanes([&make, &cfg] { return make(cfg); });
  }
}

ExecutorHealth Engine::health() const {
  ExecutorHealth worst = ExecutorHealth::Ok;
  for (const auto& t : targets_) {
    const ExecutorHealth h = t.executor->health();
    if (h == ExecutorHealth::CredentialsRejected) return h;
    if (h == ExecutorHealth::DirectoryUnavailable) worst = h;
  }
  return worst;
}

int Engine::pump_executor() {
  int n = 0;
  for (auto& t : targets_) {
    n += t.executor->collect(false);
    n += t.executor->dispatch();
  }
  return n;
}

void Engine::set_policy(std::shared_ptr<const Policy> policy) {
  {
    std::lock_guard l(policy_mu_);
    policy_ = std::move(policy);
  }
  release_requested_ = true;
  replan_requested_ = true;
  wake();
}

std::shared_ptr<const Policy> Engine::policy() const {
  std::lock_guard l(policy_mu_);
  return policy_;
}

void Engine::wake() {
  {
    std::lock_guard l(wake_mu_);
    woken_ = true;
  }
  wake_cv_.notify_all();
}

bool Engine::step() {
  bool worked = false;
  if (release_requested_.exchange(false)) release_groups();
  if (replan_requested_.exchange(false)) {
    replan_all();
    worked = true;
  }
  // Outcomes of the batches the executor finished, then what is ready: the directory works on
  // it while the events below are planned.
  worked |= pump_executor() > 0;
  worked |= apply_pending_events() > 0;
  worked |= apply_due() > 0;
  // Queue-depth gauges: at most once a second, not per step.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_gauges_ >= std::chrono::seconds(1)) {
    last_gauges_ = now;
    auto c = store_.queue_counts();
    auto& m = Metrics::global();
    m.set("provisiond_inbox_depth", {}, static_cast<double>(c.inbox_pending));
    m.set("provisiond_outbox_depth", {{"status", "pending"}}, static_cast<double>(c.ops_pending));
    m.set("provisiond_outbox_depth", {{"status", "held"}}, static_cast<double>(c.ops_held));
    m.set("provisiond_outbox_depth", {{"status", "failed"}}, static_cast<double>(c.ops_failed));
  }
  return worked;
}

void Engine::run(std::stop_token stop) {
  std::stop_callback on_stop(stop, [this] { wake(); });
  while (!stop.stop_requested()) {
    bool worked = false;
    try {
      worked = step();
    } catch (const std::exception& e) {
      // A store failure (disk full, locked too long) must not kill the daemon silently: log,
      // back off, retry; nothing was committed for the failed step.
      log::error("engine step failed", {{"error", e.what()}});
    }
    if (worked) continue;
    sync_store();
    anchor_audit(!anchored_at_);  // the first idle moment after start anchors at once
    auto next = next_wakeup();
    std::unique_lock l(wake_mu_);
    auto limit = clock_.now() + std::chrono::seconds(1);  // also notices CLI approvals
    if (next && *next < limit) limit = *next;
    auto wait =
        std::max<std::chrono::milliseconds>(limit - clock_.now(), std::chrono::milliseconds(1));
    for (const auto& t : targets_)
      if (auto at = t.executor->reconnect_at())
        wait = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(
                              *at - std::chrono::steady_clock::now()),
                          std::chrono::milliseconds(1), wait);
    wake_cv_.wait_for(l, stop, wait, [this] { return woken_; });
    woken_ = false;
  }
  for (auto& t : targets_) {
    try {
      t.executor->collect(true);  // record what the directory already did before stopping
    } catch (const std::exception& e) {
      log::error("engine stop: recording the last batch failed",
                 {{"target", t.name}, {"error", e.what()}});
    }
  }
  sync_store();
  anchor_audit(true);
}

void Engine::anchor_audit(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && anchored_at_ && now - *anchored_at_ < config_.state.audit_anchor_interval) return;
  anchored_at_ = now;
  try {
    const auto head = store_.audit_head();
    if (!head || (!force && head->id == anchored_id_)) return;
    const std::string at = format_time(clock_.now());
    log::info("audit anchor", {{"audit_head_id", std::to_string(head->id)},
                               {"audit_head_hash", head->hash}});
    if (!config_.state.audit_anchor_file.empty()) {
      const Status st = append_synced(
          config_.state.audit_anchor_file,
          Json{{"at", at}, {"audit_head_id", head->id}, {"audit_head_hash", head->hash}}.dump() +
              "\n");
      if (!st.ok())
        log::error("audit anchor file not written", {{"error", st.error().message}});
    }
    anchored_id_ = head->id;
  } catch (const std::exception& e) {
    log::error("audit anchor failed", {{"error", e.what()}});
  }
}

// The engine's commits are synced by the ingest writer's next sync or here, when it runs out of
// work: an idle engine leaves nothing that a power cut could take back.
void Engine::sync_store() {
  try {
    store_.sync();
  } catch (const std::exception& e) {
    log::error("engine: syncing the state database failed", {{"error", e.what()}});
  }
}

std::optional<TimePoint> Engine::next_wakeup() {
  std::optional<TimePoint> t = store_.next_schedule_at();
  if (auto r = store_.next_retry_at(clock_.now()); r && (!t || *r < *t)) t = r;
  return t;
}

int Engine::apply_pending_events(int limit) {
  // Leavers first: events that take access away are planned ahead of the queue (each after its
  // worker's older pending events), so a termination behind a burst of hires has its lock out
  // within one round instead of after the whole burst. Then the queue in arrival order.
  auto rows = store_.pending_leaver_events(limit);
  if (static_cast<int>(rows.size()) < limit) {
    std::set<std::int64_t> ahead;
    for (const auto& r : rows) ahead.insert(r.id);
    for (auto& r : store_.pending_events(limit - static_cast<int>(rows.size())))
      if (!ahead.count(r.id)) rows.push_back(std::move(r));
  }
  // Events are committed in groups: each event is still applied all-or-nothing (a crash replays
  // every event of an uncommitted transaction from the inbox), and a burst costs one username
  // query per group of up to 256 events. A transaction ends at the group's end or once it has
  // held the write lock for kLockBudget, whichever comes first — or as soon as the ingest writer
  // waits for the lock: cheap events (changes dated ahead, stale ones) share one commit and one
  // hand-over of the lock with the ingest writer, while costly ones (hires that plan accounts)
  // never keep a webhook's 202 waiting long. A commit here only writes the log (the ingest
  // writer's sync makes it durable), so committing often costs little.
  constexpr size_t kGroup = kPlanningGroup;
  constexpr auto kLockBudget = std::chrono::milliseconds(8);
  std::set<std::int64_t> applied;  // rows applied by this call, in the round or ahead of it
  round_applied_ = &applied;
  struct EndOfRound {
    std::set<std::int64_t>*& round;
    ~EndOfRound() { round = nullptr; }
  } end_of_round{round_applied_};
  int count = 0;
  for (size_t first = 0; first < rows.size(); first += kGroup) {
    const size_t last = std::min(rows.size(), first + kGroup);
    prefetch_username_holders(rows, first, last);
    for (size_t next = first; next < last;) {
      const auto until = std::chrono::steady_clock::now() + kLockBudget;
      event_transaction([&] {
        size_t i = next;
        do {
          if (applied.insert(rows[i].id).second) {
            apply_event(rows[i]);
            ++count;
          }
          ++i;
        } while (i < last && std::chrono::steady_clock::now() < until &&
                 !store_.writer_waiting());
        next = i;
      });
      PROV_FAULT_POINT("after_event_commit");
      // Between transactions, the locks just planned go out (and idle lanes get work): a
      // leaver's lock leaves within milliseconds of its plan's commit, not after the burst.
      pump_executor();
      // A leaver who arrived during the round goes next, not after the rest of the round (a
      // round of hires takes a few hundred milliseconds). One probe of a partial index that holds
      // only pending leavers' events.
      if (next < last) count += apply_arrived_leavers(applied, kGroup);
    }
    forget_holders();
  }
  return count;
}

Result<AccountReader::Holders> Engine::ask_meanwhile(
    const std::function<Result<AccountReader::Holders>()>& question) {
  asking_ = true;
  struct Asked {
    bool& flag;
    ~Asked() { flag = false; }
  } asked{asking_};
  auto answer = std::async(std::launch::async, question);
  while (answer.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
    plan_leavers_between_questions();
    pump_executor();
  }
  return answer.get();
}

void Engine::plan_leavers_between_questions() {
  if (!round_applied_ || planning_leavers_ || store_.in_transaction()) return;
  apply_arrived_leavers(*round_applied_, static_cast<int>(kPlanningGroup));
}

int Engine::apply_arrived_leavers(std::set<std::int64_t>& applied, int limit) {
  // Never nested: the questions about a leaver's own names would otherwise plan these same
  // rows meanwhile, and this call would then apply them a second time — the older ones as
  // stale, behind the termination the nested call had already applied.
  if (planning_leavers_) return 0;
  planning_leavers_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{planning_leavers_};
  auto rows = store_.pending_leaver_events(limit);
  std::erase_if(rows, [&](const InboxRow& r) { return applied.count(r.id) > 0; });
  if (rows.empty()) return 0;
  prefetch_username_holders(rows, 0, rows.size());  // a leaver's own older hire needs its names
  int count = 0;
  event_transaction([&] {
    for (const auto& r : rows)
      if (applied.insert(r.id).second) {
        apply_event(r);
        ++count;
      }
  });
  PROV_FAULT_POINT("after_event_commit");
  pump_executor();
  return count;
}

// Event lines are written once their transaction has committed: a line never reports an event
// that a rollback then undid, and the write lock is not held while they go to the log.
void Engine::event_transaction(const std::function<void()>& apply) {
  event_logs_.clear();
  store_.transaction(apply);
  for (const auto& [msg, fields] : event_logs_) log::info(msg, fields);
  event_logs_.clear();
}

int Engine::apply_due(int limit) {
  const auto now = clock_.now();
  int n = 0;
  for (const auto& row : store_.due_events(now, limit)) {
    event_transaction([&] {
      InboxRow r = row;
      r.status = EventStatus::Pending;
      apply_event(r);
    });
    ++n;
  }
  const auto schedules = store_.due_schedules(now);
  std::vector<Worker> workers;
  for (const auto& s : schedules)
    if (auto w = store_.worker(s.worker_id)) workers.push_back(std::move(*w));
  prefetch_usernames(workers);
  for (const auto& s : schedules) {
    store_.transaction([&] {
      store_.remove_schedule(s.id);
      plan_worker(s.worker_id, false, "schedule:" + s.reason);
    });
    ++n;
  }
  forget_holders();
  return n;
}

EvalContext Engine::planner_context(TimePoint now) {
  EvalContext ctx;
  ctx.now = now;
  ctx.explain = false;  // the planner needs the account, not the reasons (explain does those)
  ctx.is_manager = [this](const std::string& id) { return !store_.reports_of(id).empty(); };
  return ctx;
}

bool Engine::username_free_in_store(const std::string& name, const std::string& worker_id,
                                    TimePoint now) {
  if (auto other = store_.account_by_username(name); other && other->planned.worker_id != worker_id)
    return false;
  return !store_.username_reserved(name, worker_id, now);
}

// Future events wait in the inbox; a hire is applied at once so the pre-hire account can appear
// before the start date (the lifecycle decides from hireDate), and so is the withdrawal of a
// hire that has not started: the locked pre-hire account goes now, not on the withdrawal's date.
bool Engine::waits_for_its_date(const InboxRow& row, TimePoint now) {
  const HrEvent& e = row.event;
  if (e.effective_at <= now || e.type == EventType::Hire || row.status == EventStatus::Scheduled)
    return false;
  if (e.type != EventType::Termination && e.type != EventType::Rescind) return true;
  auto w = store_.worker(e.worker_id);
  return !(w && withdraws_hire(*w, e, now, zone_or_utc(config_.timezone)));
}

void Engine::prefetch_username_holders(const std::vector<InboxRow>& rows, size_t first,
                                       size_t last) {
  const auto now = clock_.now();
  std::vector<Worker> workers;
  for (size_t i = first; i < last; ++i) {
    const HrEvent& e = rows[i].event;
    if (waits_for_its_date(rows[i], now)) continue;  // only stored as scheduled now: no names
    Worker w = store_.worker(e.worker_id).value_or(Worker{});
    apply_event_to_worker(w, e, zone_or_utc(config_.timezone));
    workers.push_back(std::move(w));
  }
  prefetch_usernames(workers);
}

// The planner's evaluations, made ahead of the transaction that will plan these workers, in
// the same order: every name a plan will consider is asked about here, so plan_worker never
// asks the directory while the store's write lock is held. Each round is one query for every
// name not answered yet; a name another worker of the group would take first counts as taken,
// as it will in the transaction. A round ends a worker's search at its first name the
// directory has not answered yet, so a name deep in the ladder costs one round per name taken
// before it — and one query for the whole group, not one per worker.
void Engine::prefetch_usernames(const std::vector<Worker>& workers) {
  if (!can_ask_targets() || workers.empty() || asking_) return;
  auto pol = policy();
  const auto now = clock_.now();
  std::vector<const Worker*> naming;
  for (const auto& w : workers) {
    const bool fresh = w.record.contains(kRehiredAtKey) && pol->lifecycle().rehire == "new_account";
    if (named_account(w.worker_id) && !fresh) continue;
    naming.push_back(&w);
  }
  constexpr int kMaxRounds = 100;  // the ladder's {{ n }} runs to 99
  for (int round = 0; round < kMaxRounds && !naming.empty(); ++round) {
    std::vector<std::string> unknown;
    std::set<std::string> claimed;  // names earlier workers of the group would take
    for (const Worker* w : naming) {
      EvalContext ctx = planner_context(now);
      ctx.username_free = [&](const std::string& name) {
        if (claimed.count(name) || !username_free_in_store(name, w->worker_id, now)) return false;
        if (auto it = holders_.find(name); it != holders_.end()) {
          if (it->second && *it->second != w->worker_id) return false;
        } else {
          unknown.push_back(name);  // to ask; assume free for now, like the transaction will
        }
        claimed.insert(name);
        return true;
      };
      pol->evaluate(*w, ctx);
    }
    if (unknown.empty()) return;
    // A name is free only if it is free in every target (one name per worker everywhere).
    AccountReader::Holders answers;
    for (const auto& t : targets_) {
      AccountReader* lookup = t.asks();
      if (!lookup) continue;
      auto holders = t.lookup ? ask_meanwhile([&] { return lookup->username_holders(unknown); })
                              : lookup->username_holders(unknown);
      plan_leavers_between_questions();
      if (!holders.ok()) {
        // plan_worker holds those workers and asks again later (not at once: the target is
        // unlikely to answer a moment from now).
        unanswered_.insert(unknown.begin(), unknown.end());
        return;
      }
      for (auto& [name, holder] : holders.value()) merge_holder(answers[name], holder);
    }
    for (auto& [name, holder] : answers) holders_[name] = std::move(holder);
  }
}

namespace {

// The managerId of an HR record as reports_of() compares it (numbers and strings alike).
std::string manager_id(const Json& record) {
  if (!record.is_object()) return "";
  const auto it = record.find("managerId");
  if (it == record.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

void Engine::apply_event(const InboxRow& row) {
  const HrEvent& e = row.event;
  const auto now = clock_.now();
  const log::Fields ids{{"event_id", e.event_id}, {"worker_id", e.worker_id}};
  if (waits_for_its_date(row, now)) {
    store_.set_event_status(row.id, EventStatus::Scheduled,
                            "effective " + format_time(e.effective_at));
    store_.audit(audit_of("event.scheduled", e.worker_id, e.event_id, now,
                          {{"effective_at", format_time(e.effective_at)}}));
    event_logs_.push_back({"event scheduled", ids});
    return;
  }
  auto existing = store_.worker(e.worker_id);
  const bool withdrawal =
      existing && withdraws_hire(*existing, e, now, zone_or_utc(config_.timezone));
  if (existing && e.effective_at < existing->last_effective_at && !withdrawal) {
    std::string note = "effective " + format_time(e.effective_at) + " is older than " +
                       format_time(existing->last_effective_at) + " already applied";
    store_.set_event_status(row.id, EventStatus::Stale, note);
    store_.audit(audit_of("event.stale", e.worker_id, e.event_id, now, {{"reason", note}}));
    Metrics::global().inc("provisiond_events_stale_total");
    event_logs_.push_back({"stale event ignored", ids});
    return;
  }
  Worker w = existing.value_or(Worker{});
  LifecycleState before = w.state;
  apply_event_to_worker(w, e, zone_or_utc(config_.timezone));
  // An early-applied future hire must not make a correction dated before the start look stale.
  // A withdrawal dated before it leaves the order mark where it was.
  w.last_effective_at =
      std::max(w.last_effective_at, std::min(e.effective_at, std::max(now, w.last_effective_at)));
  store_.put_worker(w);
  store_.set_event_status(row.id, EventStatus::Applied, "");
  Json detail{{"type", to_string(e.type)},
              {"state_before", existing ? to_string(before) : "new"},
              {"state", to_string(w.state)}};
  if (withdrawal) detail["decision"] = "hire withdrawn before the start";
  store_.audit(audit_of("event.applied", e.worker_id, e.event_id, now, std::move(detail)));
  Metrics::global().observe("provisiond_event_apply_seconds",
                            {{"type", std::string(to_string(e.type))}},
                            std::max(0.0, seconds_between(e.received_at, now)));
  event_logs_.push_back({"event applied",
                         {{"event_id", e.event_id},
                          {"worker_id", e.worker_id},
                          {"type", std::string(to_string(e.type))}}});
  plan_worker(e.worker_id, false, e.event_id);
  // Being a manager depends on other people's records: a manager who just gained a first
  // report or lost a last one is planned again (`isManager` in the policy).
  const std::string was = manager_id(existing ? existing->record : Json()),
                    now_reports_to = manager_id(w.record);
  if (was == now_reports_to) return;
  if (!now_reports_to.empty() && now_reports_to != e.worker_id &&
      store_.reports_of(now_reports_to).size() == 1)
    plan_worker(now_reports_to, false, e.event_id);
  if (!was.empty() && was != e.worker_id && store_.reports_of(was).empty())
    plan_worker(was, false, e.event_id);
}

void Engine::replan_all() {
  // In chunks, so a population of millions is never in memory at once; each chunk's names are
  // asked for ahead (the new policy may name someone who had no free name).
  constexpr std::size_t kChunk = 1000;
  std::vector<Worker> chunk;
  const auto plan_chunk = [&] {
    prefetch_usernames(chunk);
    for (const auto& w : chunk)
      store_.transaction([&] { plan_worker(w.worker_id, false, kPolicyChange); });
    forget_holders();
    chunk.clear();
  };
  store_.for_each_worker([&](const Worker& w) {
    chunk.push_back(w);
    if (chunk.size() == kChunk) plan_chunk();
  });
  plan_chunk();
  log::info("re-planned every worker after a policy change");
}

void Engine::release_groups() {
  auto pol = policy();
  const auto& released = pol->released_groups();
  if (released.empty()) return;
  const auto now = clock_.now();
  int accounts = 0;
  store_.transaction([&] {
    for (auto row : store_.accounts()) {
      std::set<std::string> taken;
      bool applied_changed = false;
      for (const auto& g : released) {
        const bool planned = row.planned.granted.erase(g) > 0;
        const bool applied = row.applied.granted.erase(g) > 0;
        applied_changed |= applied;
        if (planned || applied) taken.insert(g);
      }
      if (taken.empty()) continue;
      store_.put_planned(row.planned);
      if (applied_changed) store_.put_applied(row.applied);
      for (const auto& g : taken)
        store_.audit(audit_of(
            "group.released", row.planned.worker_id, "", now,
            {{"group", g}, {"reason", "release_groups in the policy"}, {"policy", pol->digest()}}));
      ++accounts;
    }
  });
  if (accounts > 0)
    log::info("released groups: provisiond no longer manages these memberships",
              {{"accounts", std::to_string(accounts)}, {"groups", Json(released).dump()}});
}

void Engine::plan_each(const std::function<void(WorkerPlan&&)>& visit) {
  store_.for_each_worker([&](const Worker& w) { visit(plan_worker(w.worker_id, true)); });
}

std::vector<WorkerPlan> Engine::plan_all() {
  std::vector<WorkerPlan> out;
  plan_each([&](WorkerPlan&& p) { out.push_back(std::move(p)); });
  return out;
}

WorkerPlan Engine::plan_worker(const std::string& worker_id, bool dry_run,
                               const std::string& event_id) {
  WorkerPlan result;
  result.worker_id = worker_id;
  auto worker = store_.worker(worker_id);
  if (!worker) return result;
  auto pol = policy();
  const auto now = clock_.now();
  // A return after a termination: with `rehire: new_account` the previous employment's account,
  // if retention still keeps it, is replaced by a fresh one (delete first, then create as for a
  // new hire: new anchor, no carried-over groups, username chosen again).
  const bool rehired = worker->record.contains(kRehiredAtKey);
  const bool new_account = rehired && pol->lifecycle().rehire == "new_account";
  std::vector<TargetPlan> parts(targets_.size());
  bool any_fresh = false;
  for (std::size_t i = 0; i < targets_.size(); ++i) {
    TargetPlan& tp = parts[i];
    tp.target = &targets_[i];
    tp.row = store_.account(targets_[i].name, worker_id);
    if (tp.row) tp.known = tp.row->planned;
    tp.fresh_account = new_account && tp.known && tp.known->exists;
    any_fresh |= tp.fresh_account;
  }
  // One username in every target: the one some target's account already has.
  const std::optional<Account> named = named_account(worker_id);

  bool lookup_failed = false, unasked = false;
  EvalContext ctx = planner_context(now);
  if (named && !any_fresh) ctx.existing_username = named->username;
  ctx.username_free = [&](const std::string& name) {
    if (!username_free_in_store(name, worker_id, now)) return false;
    if (dry_run || !can_ask_targets()) return true;
    std::optional<std::string> holder;
    if (auto it = holders_.find(name); it != holders_.end()) {
      holder = it->second;
    } else if (unanswered_.count(name)) {
      lookup_failed = true;  // asked before the transaction; some target could not answer
      return false;
    } else if (store_.in_transaction()) {
      // Never ask a directory while holding the write lock: a directory that hangs would
      // stall every webhook waiting for it. Plan this worker again in a moment, after asking.
      unasked = true;
      return false;
    } else {
      auto asked = holder_anywhere(name);
      if (!asked) {
        lookup_failed = true;  // cannot tell: never guess, try again later
        return false;
      }
      holder = *asked;
    }
    return !holder || *holder == worker_id;
  };
  Evaluation ev = pol->evaluate(*worker, ctx);
  LifecycleDecision decision =
      decide(*worker, pol->lifecycle(), now, zone_or_utc(config_.timezone));
  result.state = decision.state;

  bool needs_create = false;
  std::vector<DesiredAccount> desired(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    DesiredAccount& d = desired[i];
    d = ev.account;
    d.worker_id = worker_id;
    d.groups = granted_groups_in(ev, parts[i].target->name, parts[i].target->is_default);
    if (!ev.target_attributes.empty()) d.attributes = attributes_in(ev, parts[i].target->name);
    apply_decision(d, decision);
    needs_create |= d.exists && (parts[i].fresh_account || !(parts[i].known && parts[i].known->exists));
  }
  if (needs_create && lookup_failed) {
    result.hold_reason = "directory could not be asked whether a username is free";
  } else if (needs_create && unasked) {
    result.hold_reason = "username not yet checked with the directory";
  } else if (needs_create && ev.account.username.empty()) {
    result.hold_reason = ev.hold_reason.value_or("no free username");
  }
  if (!result.hold_reason)
    for (std::size_t i = 0; i < parts.size(); ++i) {
      plan_target(parts[i], desired[i], pol);
      for (const auto& op : parts[i].operations) result.operations.push_back(op);
    }
  if (dry_run) return result;

  // Everything below is written in the caller's transaction.
  if (decision.next_change) {
    store_.add_schedule(worker_id, *decision.next_change,
                        std::string(to_string(decision.state)) + " ends");
  }
  if (result.hold_reason) {
    // Not asked yet: at once, after asking (apply_due asks before its transaction); a
    // directory could not answer (whatever else was not asked yet), or no name is free: in 30 s.
    const bool ask_now = unasked && !lookup_failed;
    store_.add_schedule(worker_id,
                        now + (ask_now ? std::chrono::seconds(0) : std::chrono::seconds(30)),
                        "retry username");
    store_.audit(
        audit_of("worker.held", worker_id, event_id, now, {{"reason", *result.hold_reason}}));
    log::warn("worker held", {{"worker_id", worker_id}, {"reason", *result.hold_reason}});
    return result;
  }
  if (rehired) {
    // The return is planned: from now on the account is this employment's.
    Worker w = *worker;
    w.record.erase(kRehiredAtKey);
    store_.put_worker(w);
    const bool had_account = named.has_value();
    const std::string choice = any_fresh     ? "rehire: new_account"
                               : had_account ? "rehire: reuse_account"
                                             : "rehire: create";  // retention already ended
    Json detail{{"decision", choice}};
    if (had_account)
      detail.update({{"previous_username", named->username},
                     {"previous_dn", named->dn},
                     {"previous_anchor", named->anchor}});
    store_.audit(audit_of("worker.rehired", worker_id, event_id, now, std::move(detail)));
    log::info("worker rehired", {{"worker_id", worker_id}, {"decision", choice}});
  }

  // Entitlements are bookkeeping in the store: allocated while granted, released for retrieval.
  // They belong to the worker, not to a target: every target's desired account has the same.
  const std::set<std::string>& wanted_ents = desired.front().entitlements;
  std::set<std::string> held_ents;
  for (const auto& r : store_.entitlements(worker_id))
    if (!r.released_at) held_ents.insert(r.entitlement);
  for (const auto& ent : wanted_ents)
    if (!held_ents.count(ent)) {
      store_.allocate_entitlement(worker_id, ent, now);
      store_.audit(
          audit_of("entitlement.allocated", worker_id, event_id, now, {{"entitlement", ent}}));
    }
  for (const auto& ent : held_ents)
    if (!wanted_ents.count(ent)) {
      store_.release_entitlement(worker_id, ent, now);
      store_.audit(audit_of("entitlement.released", worker_id, event_id, now,
                            {{"entitlement", ent}, {"action", "retrieve"}}));
    }

  const bool policy_change = event_id == kPolicyChange;
  for (auto& tp : parts) {
    if (tp.operations.empty()) continue;
    if (enqueue_target(tp, pol, worker_id, event_id, policy_change, now) > 0)
      Metrics::global().inc("provisiond_brake_holds_total", {{"target", tp.target->name}});
  }
  return result;
}

int Engine::execute_batch() {
  int n = 0;
  for (auto& t : targets_) {
    t.executor->collect(true);
    if (t.executor->dispatch() > 0) n += t.executor->collect(true);
  }
  return n;
}

}  // namespace prov
