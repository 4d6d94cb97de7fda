// POST /v1/plan (role viewer): what deploying an uploaded candidate policy would change — the
// console's "What if" page and `provisionctl plan --policy` over HTTP. The candidate is loaded
// and checked as a reload would (prov/uploaded_policy.h), then every stored worker is planned
// under it by the what-if planner (prov/what_if.h), which writes nothing. It decides nothing, so
// a viewer may ask; the request is still audited (`plan.what_if`): who looked at which candidate
// is part of an access review.
#include <limits>

#include "admin/api.h"
#include "prov/log.h"
#include "prov/store.h"
#include "prov/uploaded_policy.h"
#include "prov/what_if.h"

namespace prov {
namespace {

// A policy is a few kilobytes; a megabyte is far beyond any real one and bounds what one request
// makes the daemon write to disk and parse. The listener refuses larger bodies before this runs.
constexpr std::size_t kMaxCandidateBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxCandidateFiles = 100;

// One what-if at a time: planning everyone keeps a listener thread busy for seconds on a large
// workforce, and the listener has two — the other must stay free for probes and the console.
std::atomic<bool> planning{false};

std::string media_type(const HttpRequest& request) {
  std::string type = request.header("content-type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

// The uploaded files by name, or the 4xx to answer.
std::variant<std::map<std::string, std::string>, HttpResponse> files_of(const HttpRequest& req) {
  if (req.body.size() > kMaxCandidateBytes)
    return problem(
        413, "Content Too Large",
        "a candidate policy may be at most " + std::to_string(kMaxCandidateBytes) + " bytes");
  const std::string type = media_type(req);
  std::map<std::string, std::string> files;
  if (type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml") {
    files["policy.yaml"] = req.body;
  } else if (type == "application/json") {
    auto parsed = json_object_body(req);
    if (auto* bad = std::get_if<HttpResponse>(&parsed)) return std::move(*bad);
    const Json& body = std::get<Json>(parsed);
    if (!body.contains("files") || !body["files"].is_object())
      return problem(400, "Bad Request",
                     "send {\"files\": {\"name.yaml\": \"…\"}} or one YAML document as "
                     "application/yaml",
                     "files");
    for (const auto& [name, text] : body["files"].items()) {
      if (!text.is_string())
        return problem(400, "Bad Request", "the content of " + name + " must be a string", "files");
      files[name] = text.get<std::string>();
    }
    if (files.size() > kMaxCandidateFiles)
      return problem(400, "Bad Request", "at most " + std::to_string(kMaxCandidateFiles) + " files",
                     "files");
  } else {
    return problem(415, "Unsupported Media Type",
                   "send the candidate as application/yaml (one file) or application/json "
                   "({\"files\": {…}})");
  }
  if (auto why = uploaded_names_problem(files); !why.empty())
    return problem(400, "Bad Request", why, "files");
  return files;
}

Json diagnostic_json(const PolicyDiagnostic& d) {
  Json j{{"file", d.file},
         {"line", d.line},
         {"column", d.column},
         {"message", d.message},
         {"text", d.to_string()}};
  if (!d.hint.empty()) j["hint"] = d.hint;
  return j;
}

Json summary_json(const WhatIf& w) {
  const PlanSummary& s = w.summary;
  return Json{{"text", w.to_string()},
              {"changes", s.to_string()},
              {"creates", s.creates},
              {"updates", s.updates},
              {"moves", s.moves},
              {"enables", s.enables},
              {"locks", s.locks},
              {"group_additions", s.group_adds},
              {"group_removals", s.group_removals},
              {"deletes", s.deletes},
              {"people_affected", w.people_affected},
              {"managed_accounts", w.managed_accounts},
              {"held_by_rule", w.held_by_rule},
              {"mass_brake", w.mass_brake},
              {"brake_would_hold", w.mass_brake || w.held_by_rule > 0}};
}

void audit_request(const AdminContext& ctx, const ApiCall& call, const std::string& digest,
                   const std::map<std::string, std::string>& files, const Json& outcome) {
  AuditRecord audit;
  audit.at = SystemClock().now();
  audit.action = "plan.what_if";
  audit.detail = outcome;
  audit.detail["actor"] = call.who.name;
  audit.detail["digest"] = digest;
  Json names = Json::array();
  for (const auto& f : files) names.push_back(f.first);
  audit.detail["files"] = names;
  Store::open(ctx.state_path)->audit(audit);
}

}  // namespace

std::optional<HttpResponse> api_what_if(const AdminContext& ctx, const ApiCall& call) {
  if (call.path != "/v1/plan") return std::nullopt;
  if (auto refusal = requires_role(call, Role::Viewer)) return refusal;
  std::optional<HttpResponse> bad;
  const auto limit = query_number(call, "limit", 1, 10000, 100, bad);
  if (!limit) return *bad;
  const auto offset =
      query_number(call, "offset", 0, std::numeric_limits<std::int32_t>::max(), 0, bad);
  if (!offset) return *bad;
  auto files = files_of(call.http);
  if (auto* refusal = std::get_if<HttpResponse>(&files)) return std::move(*refusal);
  const auto& candidate = std::get<0>(files);

  const RunAlone alone(planning);
  if (auto busy = alone.refusal("a what-if", 5)) return busy;

  const UploadedPolicy loaded = load_uploaded_policy(candidate, ctx.config);
  if (!loaded.policy) {
    Json diagnostics = Json::array();
    for (const auto& d : loaded.diagnostics) diagnostics.push_back(diagnostic_json(d));
    audit_request(ctx, call, loaded.digest, candidate,
                  {{"valid", false}, {"diagnostics", loaded.diagnostics.size()}});
    HttpResponse r =
        problem(422, "Unprocessable Content",
                "the candidate policy has " + std::to_string(loaded.diagnostics.size()) +
                    " problem(s); " + loaded.diagnostics.front().to_string());
    Json body = Json::parse(r.body);
    body["diagnostics"] = diagnostics;
    r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    return r;
  }

  // The page only: a plan of every worker is counted, not kept, so a large workforce's answer
  // stays the size of one page.
  auto store = Store::open_read_only(ctx.state_path);
  Json workers = Json::array();
  std::int64_t total = 0;
  SystemClock clock;
  const WhatIf w = what_if(*store, ctx.config, loaded.policy, clock, [&](const WorkerPlan& p) {
    if (total >= *offset && total < *offset + *limit) workers.push_back(worker_plan_json(p));
    ++total;
  });
  store.reset();
  const Json summary = summary_json(w);
  // `summary` in words, as other audit rows carry it (the console's audit shows it as a line).
  audit_request(ctx, call, loaded.digest, candidate,
                {{"valid", true},
                 {"summary", w.to_string()},
                 {"people_affected", w.people_affected},
                 {"brake_would_hold", summary["brake_would_hold"]}});
  log::info("admin API: candidate policy planned",
            {{"actor", call.who.name}, {"digest", loaded.digest}, {"changes", w.to_string()}});
  Json answer{{"digest", loaded.digest}, {"summary", summary}, {"workers", workers},
              {"offset", *offset},       {"limit", *limit},    {"total", total}};
  if (*offset + *limit < total) answer["next_offset"] = *offset + *limit;
  return json_response(answer);
}

}  // namespace prov
