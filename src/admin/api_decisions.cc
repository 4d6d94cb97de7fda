// The admin API's decisions on the outbox (role approver): the same transactions provisionctl
// made directly before (prov/engine.h, OutboxDecision), audited with the caller's identity.
#include "admin/api.h"
#include "prov/log.h"
#include "prov/store.h"

namespace prov {
namespace {

using DecisionFn = OutboxDecision (*)(Store&, const std::vector<std::int64_t>&,
                                      const std::string&, TimePoint);

struct Decision {
  const char* path;
  DecisionFn fn;
  const char* verb;  // for the log
};

constexpr Decision kDecisions[] = {
    {"/v1/held/approve", &approve_held, "approved"},
    {"/v1/held/reject", &reject_held, "rejected"},
    {"/v1/failed/retry", &retry_failed, "re-queued"},
};

// {"ids": [1, 2]} or {"all": true}: which operations. An empty list means all, as in
// OutboxDecision, so "all" must be said out loud.
std::variant<std::vector<std::int64_t>, HttpResponse> ids_of(const HttpRequest& req) {
  auto parsed = json_object_body(req);
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) return std::move(*bad);
  Json& body = std::get<Json>(parsed);
  const bool all = body.contains("all") && body["all"] == true;
  if (body.contains("all") && !body["all"].is_boolean())
    return problem(400, "Bad Request", "all must be true or false", "all");
  std::vector<std::int64_t> ids;
  if (body.contains("ids")) {
    if (!body["ids"].is_array())
      return problem(400, "Bad Request", "ids must be a list of operation ids", "ids");
    for (const auto& v : body["ids"]) {
      if (!v.is_number_integer() || v.get<std::int64_t>() <= 0)
        return problem(400, "Bad Request", "ids must be positive whole numbers", "ids");
      ids.push_back(v.get<std::int64_t>());
    }
  }
  if (all && !ids.empty())
    return problem(400, "Bad Request", "give ids or all, not both", "ids");
  if (!all && ids.empty())
    return problem(400, "Bad Request", "name the operations: {\"ids\": [...]} or {\"all\": true}",
                   "ids");
  return ids;
}

}  // namespace

std::optional<HttpResponse> api_decide(const AdminContext& ctx, const ApiCall& call) {
  for (const auto& d : kDecisions) {
    if (call.path != d.path) continue;
    if (auto refusal = requires_role(call, Role::Approver)) return refusal;
    auto ids = ids_of(call.http);
    if (auto* bad = std::get_if<HttpResponse>(&ids)) return std::move(*bad);
    auto store = Store::open(ctx.state_path);
    const OutboxDecision result =
        d.fn(*store, std::get<0>(ids), call.who.name, SystemClock().now());
    store.reset();
    if (result.changed > 0 && ctx.wake) ctx.wake();
    log::info(std::string("admin API: operations ") + d.verb,
              {{"actor", call.who.name},
               {"changed", std::to_string(result.changed)},
               {"not_in_state", std::to_string(result.unknown.size())}});
    return json_response(
        {{"changed", result.changed}, {"unknown", result.unknown}, {"actor", call.who.name}});
  }
  return api_reconcile(ctx, call);
}

}  // namespace prov
