// POST /v1/reconcile (role admin): what provisionctl reconcile does — every target's accounts
// read and compared with what provisiond applied (prov/reconcile.h) — asked of the daemon, so
// that the run is audited with the caller's identity. With {"apply": true} the drifts go to the
// engine, which corrects the directory through the normal path (policy, brake, audit).
#include <atomic>

#include "admin/api.h"
#include "prov/log.h"
#include "prov/reconcile.h"
#include "prov/store.h"

namespace prov {
namespace {

// Drifts listed in the answer; the counts cover all of them.
constexpr std::size_t kDriftsShown = 1000;
// Handed to the engine in groups this size, each one transaction (as provisionctl does).
constexpr std::size_t kRepairBatch = 500;

// One run at a time across the TCP listener and the socket: two would read every directory
// twice and hand the same drifts over twice.
std::atomic<bool> running{false};

struct Request {
  bool apply = false;
  std::string target;  // empty: every target
};

std::variant<Request, HttpResponse> request_of(const AdminContext& ctx, const HttpRequest& req) {
  Request out;
  if (req.body.empty()) return out;
  auto parsed = json_object_body(req);
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) return std::move(*bad);
  const Json& body = std::get<Json>(parsed);
  if (body.contains("apply")) {
    if (!body["apply"].is_boolean())
      return problem(400, "Bad Request", "apply must be true or false", "apply");
    out.apply = body["apply"].get<bool>();
  }
  if (body.contains("target")) {
    if (!body["target"].is_string() || !ctx.config.target(body["target"].get<std::string>()))
      return problem(400, "Bad Request", "target must name a target of the config", "target");
    out.target = body["target"].get<std::string>();
  }
  return out;
}

Json drift_json(const Drift& d) {
  Json j{{"target", d.target},
         {"worker_id", d.worker_id},
         {"kind", std::string(to_string(d.kind))},
         {"details", d.details}};
  if (d.observed) j["dn"] = d.observed->dn;
  return j;
}

HttpResponse run(const AdminContext& ctx, const ApiCall& call, const Request& request) {
  auto policy = ctx.policy();
  auto store = Store::open(ctx.state_path);
  const auto now = SystemClock().now();
  Json drifts = Json::array();
  int compared = 0, in_flight = 0, accounts = 0, drifted = 0, unmanaged = 0, handed = 0;
  std::vector<Drift> to_repair;
  const auto hand_over = [&] {
    if (to_repair.empty()) return;
    handed += repair(*store, to_repair, now, call.who.name);
    to_repair.clear();
  };
  for (const auto& target : ctx.config.targets) {
    if (!request.target.empty() && target.name != request.target) continue;
    auto directory = ctx.connector(target);
    if (Status s = directory->connect(); !s.ok())
      return problem(502, "Bad Gateway",
                     "cannot reach target " + target.name + ": " + s.error().message, "target");
    const bool first = &target == &ctx.config.targets.front();
    auto report = reconcile(*store, target.name, *directory,
                            managed_groups_in(*policy, target.name, first), [&](Drift&& d) {
                              ++(d.kind == Drift::Kind::Unmanaged ? unmanaged : drifted);
                              if (drifts.size() < kDriftsShown) drifts.push_back(drift_json(d));
                              if (!request.apply || d.kind == Drift::Kind::Unmanaged) return;
                              to_repair.push_back(std::move(d));
                              if (to_repair.size() >= kRepairBatch) hand_over();
                            });
    if (!report.ok())
      return problem(502, "Bad Gateway", "reconcile " + target.name + ": " + report.error().message,
                     "target");
    compared += report->checked;
    in_flight += report->in_flight;
    accounts += report->directory_accounts;
  }
  hand_over();
  Json summary{{"compared", compared},           {"drifted", drifted},
               {"unmanaged", unmanaged},         {"in_flight", in_flight},
               {"directory_accounts", accounts}, {"handed_to_engine", handed}};
  // The run itself is audited, drift or not: "who looked, and when" is part of an access review.
  AuditRecord audit;
  audit.at = now;
  audit.action = "reconcile.run";
  audit.detail = summary;
  audit.detail["actor"] = call.who.name;
  audit.detail["apply"] = request.apply;
  if (!request.target.empty()) audit.detail["target"] = request.target;
  store->audit(audit);
  store.reset();
  if (handed > 0 && ctx.wake) ctx.wake();
  log::info("admin API: reconcile", {{"actor", call.who.name},
                                     {"apply", request.apply ? "true" : "false"},
                                     {"drifted", std::to_string(drifted)},
                                     {"handed_to_engine", std::to_string(handed)}});
  Json answer = summary;
  answer["actor"] = call.who.name;
  answer["apply"] = request.apply;
  answer["drifts"] = drifts;
  if (static_cast<std::size_t>(drifted + unmanaged) > drifts.size())
    answer["drifts_truncated"] = true;
  return json_response(answer);
}

}  // namespace

std::optional<HttpResponse> api_reconcile(const AdminContext& ctx, const ApiCall& call) {
  if (call.path != "/v1/reconcile") return std::nullopt;
  if (auto refusal = requires_role(call, Role::Admin)) return refusal;
  auto request = request_of(ctx, call.http);
  if (auto* bad = std::get_if<HttpResponse>(&request)) return std::move(*bad);
  if (!ctx.connector)
    return problem(503, "Service Unavailable", "this listener cannot reach the targets");
  const RunAlone alone(running);
  if (auto busy = alone.refusal("a reconcile", 10)) return busy;
  return run(ctx, call, std::get<Request>(request));
}

}  // namespace prov
