// GET /v1/report/access (role viewer): who holds which group in which target, and the role that
// grants it — the report provisionctl report access prints (prov/access_report.h), a page at a
// time. The report walks every stored worker one at a time, so memory stays flat at any
// workforce size; a page keeps only its own rows and counts the rest.
#include <algorithm>
#include <limits>

#include "admin/api.h"
#include "prov/access_report.h"
#include "prov/store.h"

namespace prov {
namespace {

Json row_json(const AccessRow& r) {
  return Json{{"target", r.target},         {"worker_id", r.worker_id},
              {"username", r.username},     {"worker_state", r.worker_state},
              {"account", r.account},       {"group", r.group},
              {"granted_by", r.granted_by}, {"status", r.status}};
}

std::string query_value(const ApiCall& call, const std::string& key) {
  auto it = call.query.find(key);
  return it == call.query.end() ? std::string() : it->second;
}

}  // namespace

std::optional<HttpResponse> api_report(const AdminContext& ctx, const ApiCall& call) {
  if (call.path != "/v1/report/access") return std::nullopt;
  std::optional<HttpResponse> bad;
  const auto limit = query_number(call, "limit", 1, 10000, 1000, bad);
  if (!limit) return *bad;
  const auto offset =
      query_number(call, "offset", 0, std::numeric_limits<std::int32_t>::max(), 0, bad);
  if (!offset) return *bad;
  AccessFilter filter{query_value(call, "group"), query_value(call, "worker"),
                      query_value(call, "target")};
  std::vector<std::string> targets;
  for (const auto& t : ctx.config.targets) targets.push_back(t.name);
  if (!filter.target.empty() &&
      std::find(targets.begin(), targets.end(), filter.target) == targets.end())
    return problem(400, "Bad Request", "no target " + filter.target + " in the config", "target");
  auto store = Store::open_read_only(ctx.state_path);
  Json rows = Json::array();
  std::int64_t total = 0, ungranted = 0;
  access_report(*store, *ctx.policy(), targets, filter, SystemClock().now(),
                [&](const AccessRow& r) {
                  if (r.status == "ungranted") ++ungranted;
                  if (total >= *offset && total < *offset + *limit) rows.push_back(row_json(r));
                  ++total;
                });
  Json answer{{"rows", rows},
              {"offset", *offset},
              {"limit", *limit},
              {"total", total},
              {"ungranted", ungranted}};
  if (*offset + *limit < total) answer["next_offset"] = *offset + *limit;
  return json_response(answer);
}

}  // namespace prov
