// The admin API's reading endpoints (role viewer). Each opens its own read-only connection to
// the state database, as provisionctl's reading commands do: a slow read never holds the
// engine's writer.
#include "admin/api.h"
#include "policy/explain.h"
#include "prov/notify.h"
#include "prov/plan.h"
#include "prov/store.h"

namespace prov {
namespace {

Json account_json(const Account& a) {
  return Json{{"target", a.target},     {"username", a.username}, {"dn", a.dn},
              {"anchor", a.anchor},     {"exists", a.exists},     {"enabled", a.enabled},
              {"groups", a.groups},     {"attributes", a.attributes}};
}

Json entitlement_json(const EntitlementRow& r) {
  Json j{{"worker_id", r.worker_id},
         {"entitlement", r.entitlement},
         {"allocated_at", format_time(r.allocated_at)}};
  if (r.released_at) j["released_at"] = format_time(*r.released_at);
  return j;
}

Json operation_json(const OutboxRow& r) {
  Json j = to_json(r.op);
  j["summary"] = describe(r.op);
  j["status"] = to_string(r.status);
  j["attempts"] = r.attempts;
  j["created_at"] = format_time(r.created_at);
  if (!r.last_error.empty()) j["last_error"] = r.last_error;
  if (!r.event_id.empty()) j["event_id"] = r.event_id;
  return j;
}

Json audit_json(const AuditRecord& r) {
  Json j{{"at", format_time(r.at)}, {"action", r.action}, {"detail", r.detail}};
  if (r.id) j["id"] = r.id;
  if (!r.worker_id.empty()) j["worker_id"] = r.worker_id;
  if (!r.event_id.empty()) j["event_id"] = r.event_id;
  if (r.op_id) j["op_id"] = r.op_id;
  return j;
}

// ?limit=N (1..10000, default `fallback`); nullopt after a 400 into `bad`.
std::optional<int> limit_of(const ApiCall& call, int fallback, std::optional<HttpResponse>& bad) {
  const auto n = query_number(call, "limit", 1, 10000, fallback, bad);
  if (!n) return std::nullopt;
  return static_cast<int>(*n);
}

HttpResponse status(const AdminContext& ctx) {
  auto store = Store::open_read_only(ctx.state_path);
  const auto c = store->counts();
  return json_response({{"inbox_pending", c.inbox_pending}, {"workers", c.workers},
                        {"accounts", c.accounts}, {"ops_pending", c.ops_pending},
                        {"ops_held", c.ops_held}, {"ops_failed", c.ops_failed},
                        {"ops_done", c.ops_done}, {"schedule_pending", c.schedule_pending},
                        {"audit_records", c.audit}});
}

HttpResponse queues(const AdminContext& ctx) {
  auto store = Store::open_read_only(ctx.state_path);
  // Per target: a slow app's queue must not hide behind a quiet directory's.
  Json targets = Json::object();
  for (const auto& t : ctx.config.targets)
    targets[t.name] = {{"pending", 0}, {"held", 0}, {"failed", 0}};
  for (const auto& [target, c] : store->queue_counts_by_target())
    targets[target] = {{"pending", c.ops_pending}, {"held", c.ops_held}, {"failed", c.ops_failed}};
  const auto c = store->counts();
  return json_response({{"inbox_pending", c.inbox_pending},
                        {"schedule_pending", c.schedule_pending},
                        {"targets", targets}});
}

HttpResponse operations(const AdminContext& ctx, const ApiCall& call, OpStatus status) {
  std::optional<HttpResponse> bad;
  const auto limit = limit_of(call, 1000, bad);
  if (!limit) return *bad;
  auto store = Store::open_read_only(ctx.state_path);
  Json arr = Json::array();
  for (const auto& r : store->operations(status, *limit)) arr.push_back(operation_json(r));
  return json_response({{"operations", arr}});
}

HttpResponse worker(const AdminContext& ctx, const std::string& id) {
  auto store = Store::open_read_only(ctx.state_path);
  auto w = store->worker(id);
  if (!w) return problem(404, "Not Found", "no worker " + id, "worker_id");
  Json accounts = Json::object();
  for (const auto& t : ctx.config.targets)
    if (auto a = store->account(t.name, id))
      accounts[t.name] = {{"applied", account_json(a->applied)},
                          {"planned", account_json(a->planned)}};
  Json ops = Json::array();
  for (const auto& r : store->operations_of(id)) ops.push_back(operation_json(r));
  Json entitlements = Json::array();
  for (const auto& r : store->entitlements(id)) entitlements.push_back(entitlement_json(r));
  Json timeline = Json::array();
  for (const auto& r : store->audit_log(id, 1000)) timeline.push_back(audit_json(r));
  return json_response({{"worker_id", id},
                        {"state", to_string(w->state)},
                        {"record", w->record},
                        {"last_event_id", w->last_event_id},
                        {"last_effective_at", format_time(w->last_effective_at)},
                        {"accounts", accounts},
                        {"entitlements", entitlements},
                        {"operations", ops},
                        {"timeline", timeline}});
}

HttpResponse explain(const AdminContext& ctx, const std::string& id) {
  auto store = Store::open_read_only(ctx.state_path);
  auto w = store->worker(id);
  if (!w) return problem(404, "Not Found", "no worker " + id, "worker_id");
  const auto policy = ctx.policy();
  EvalContext ec;
  ec.now = SystemClock().now();
  return json_response(policy::explain_json(*policy, *w, policy->evaluate(*w, ec)));
}

HttpResponse plan(const AdminContext& ctx, const ApiCall& call) {
  auto store = Store::open_read_only(ctx.state_path);
  SystemClock clock;
  // The daemon's planner with no connector: a preview writes nothing anywhere.
  Engine engine(*store, nullptr, clock, ctx.config, ctx.policy());
  std::vector<WorkerPlan> plans;
  if (auto it = call.query.find("worker_id"); it != call.query.end()) {
    if (!store->worker(it->second))
      return problem(404, "Not Found", "no worker " + it->second, "worker_id");
    plans.push_back(engine.plan_worker(it->second, true));
  } else {
    plans = engine.plan_all();
  }
  PlanSummary summary;
  Json workers = Json::array();
  for (const auto& p : plans) {
    if (p.operations.empty() && !p.hold_reason) continue;
    for (const auto& op : p.operations) summary.add(op);
    workers.push_back(worker_plan_json(p));
  }
  return json_response({{"workers", workers}, {"summary", summary.to_string()}});
}

constexpr int kAuditSearchRows = 100000;

// since / until (RFC 3339 or a date) from the query into `out`; a 400 naming the field when
// malformed.
std::optional<HttpResponse> time_of(const ApiCall& call, const std::string& field,
                                    TimePoint& out) {
  auto it = call.query.find(field);
  if (it == call.query.end()) return std::nullopt;
  auto t = parse_time(it->second);
  if (!t) return problem(400, "Bad Request", field + " must be an RFC 3339 time or a date", field);
  out = *t;
  return std::nullopt;
}

HttpResponse audit(const AdminContext& ctx, const ApiCall& call) {
  std::optional<HttpResponse> bad;
  const auto limit = limit_of(call, 200, bad);
  if (!limit) return *bad;
  TimePoint since{}, until = TimePoint::max();
  if (auto refusal = time_of(call, "since", since)) return *refusal;
  if (auto refusal = time_of(call, "until", until)) return *refusal;
  // Paging from the newest: offset=200 skips the newest 200 matches (the console's "older").
  const auto offset_n = query_number(call, "offset", 0, kAuditSearchRows, 0, bad);
  if (!offset_n) return *bad;
  const auto offset = static_cast<std::size_t>(*offset_n);
  const auto worker = call.query.count("worker_id") ? call.query.at("worker_id") : "";
  const auto action = call.query.count("action") ? call.query.at("action") : "";
  const auto actor = call.query.count("actor") ? call.query.at("actor") : "";
  auto store = Store::open_read_only(ctx.state_path);
  // Newest last, like provisionctl audit: the last `limit` rows that match. A filter other than
  // the worker looks through the newest kAuditSearchRows rows only: the audit of a large
  // workforce does not fit in memory (provisionctl audit export reads it all, streaming).
  const bool filtered = !action.empty() || !actor.empty() || since != TimePoint{} ||
                        until != TimePoint::max() || offset > 0;
  std::vector<Json> matched;
  for (const auto& r : store->audit_log(worker, filtered ? kAuditSearchRows : *limit)) {
    if (r.at < since || r.at >= until) continue;
    if (!action.empty() && r.action != action) continue;
    if (!actor.empty() && (!r.detail.is_object() || r.detail.value("actor", "") != actor))
      continue;
    matched.push_back(audit_json(r));
  }
  Json arr = Json::array();
  const std::size_t end = matched.size() > offset ? matched.size() - offset : 0;
  const std::size_t from = end > static_cast<std::size_t>(*limit) ? end - *limit : 0;
  for (std::size_t i = from; i < end; ++i) arr.push_back(std::move(matched[i]));
  return json_response({{"records", arr},
                        {"matched", matched.size()},
                        {"offset", offset},
                        {"searched_newest", kAuditSearchRows}});
}

// What leavers and movers released (licences, hardware) since `since`, across workers: the list
// of `provisionctl report retrieve`.
HttpResponse retrieve(const AdminContext& ctx, const ApiCall& call) {
  std::optional<HttpResponse> bad;
  const auto limit = limit_of(call, 1000, bad);
  if (!limit) return *bad;
  TimePoint since{};
  if (auto refusal = time_of(call, "since", since)) return *refusal;
  auto store = Store::open_read_only(ctx.state_path);
  const auto released = store->released_entitlements(since);
  Json rows = Json::array();
  for (std::size_t i = 0; i < released.size() && i < static_cast<std::size_t>(*limit); ++i)
    rows.push_back(entitlement_json(released[i]));
  return json_response({{"entitlements", rows}, {"matched", released.size()}});
}

// ?status=pending|sent|failed (default: all), ?limit=N (default 200), newest first.
HttpResponse notifications(const AdminContext& ctx, const ApiCall& call) {
  std::optional<HttpResponse> bad;
  const auto limit = limit_of(call, 200, bad);
  if (!limit) return *bad;
  std::optional<NotificationStatus> status;
  if (auto it = call.query.find("status"); it != call.query.end()) {
    for (auto s : {NotificationStatus::Pending, NotificationStatus::Sent, NotificationStatus::Failed})
      if (to_string(s) == it->second) status = s;
    if (!status)
      return problem(400, "Bad Request", "status must be pending, sent or failed", "status");
  }
  Json arr = Json::array();
  for (const auto& r : list_notifications(ctx.state_path, status, *limit))
    arr.push_back(to_json(r));
  return json_response({{"notifications", arr}});
}

}  // namespace

Json worker_plan_json(const WorkerPlan& p) {
  Json ops = Json::array();
  for (const auto& op : p.operations) {
    Json o = to_json(op);
    o["summary"] = describe(op);
    ops.push_back(o);
  }
  Json w{{"worker_id", p.worker_id}, {"state", to_string(p.state)}, {"operations", ops}};
  if (p.hold_reason) w["held"] = *p.hold_reason;
  return w;
}

std::optional<HttpResponse> api_read(const AdminContext& ctx, const ApiCall& call) {
  if (auto refusal = requires_role(call, Role::Viewer)) return refusal;
  const std::string& p = call.path;
  if (p == "/v1/whoami")
    return json_response({{"identity", call.who.name}, {"role", to_string(call.who.role)}});
  if (p == "/v1/status") return status(ctx);
  if (p == "/v1/queues") return queues(ctx);
  if (p == "/v1/held") return operations(ctx, call, OpStatus::Held);
  if (p == "/v1/failed") return operations(ctx, call, OpStatus::Failed);
  if (p == "/v1/plan") return plan(ctx, call);
  if (p == "/v1/audit") return audit(ctx, call);
  if (p == "/v1/notifications") return notifications(ctx, call);
  if (p == "/v1/report/retrieve") return retrieve(ctx, call);
  if (auto r = api_report(ctx, call)) return r;
  const std::string prefix = "/v1/workers/";
  if (p.starts_with(prefix)) {
    std::string id = p.substr(prefix.size());
    const bool wants_explain = id.ends_with("/explain");
    if (wants_explain) id.resize(id.size() - std::string("/explain").size());
    if (id.empty() || id.find('/') != std::string::npos) return std::nullopt;
    return wants_explain ? explain(ctx, id) : worker(ctx, id);
  }
  return std::nullopt;
}

}  // namespace prov
