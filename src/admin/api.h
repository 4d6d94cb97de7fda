#pragma once
// The admin API's endpoints, behind make_admin_handler (which authenticated the caller).
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "admin/admin.h"

namespace prov {

struct ApiCall {
  const HttpRequest& http;
  std::string path;                          // the target without its query
  std::map<std::string, std::string> query;  // percent-decoded
  Identity who;
};

// 403 naming the role `call` lacks, or nullopt when its identity has it.
std::optional<HttpResponse> requires_role(const ApiCall& call, Role role);

// nullopt: not one of theirs. Reads need `viewer`; decisions say what they need.
std::optional<HttpResponse> api_read(const AdminContext& ctx, const ApiCall& call);
std::optional<HttpResponse> api_decide(const AdminContext& ctx, const ApiCall& call);
// GET /v1/report/access (viewer) and POST /v1/reconcile (admin).
std::optional<HttpResponse> api_report(const AdminContext& ctx, const ApiCall& call);
std::optional<HttpResponse> api_reconcile(const AdminContext& ctx, const ApiCall& call);
// POST /v1/plan (viewer): a candidate policy's what-if; it writes nothing but its audit row.
std::optional<HttpResponse> api_what_if(const AdminContext& ctx, const ApiCall& call);

// One worker's plan as GET and POST /v1/plan answer it: operations with their summaries, the
// hold when there is one.
Json worker_plan_json(const WorkerPlan& plan);

HttpResponse json_response(const Json& body, int status = 200);

// A whole number in [low, high] from the query, `fallback` when absent; nullopt after putting
// the 400 naming `field` into `bad`.
std::optional<std::int64_t> query_number(const ApiCall& call, const std::string& field,
                                         std::int64_t low, std::int64_t high,
                                         std::int64_t fallback, std::optional<HttpResponse>& bad);

// One long request of a kind at a time (a reconcile, a what-if), across the TCP listener and the
// socket: each keeps a listener thread for seconds on a large workforce. The first to construct
// one over `running` holds it until destroyed; the others get refusal().
class RunAlone {
 public:
  explicit RunAlone(std::atomic<bool>& running)
      : running_(running), mine_(!running.exchange(true)) {}
  ~RunAlone() {
    if (mine_) running_ = false;
  }
  RunAlone(const RunAlone&) = delete;
  RunAlone& operator=(const RunAlone&) = delete;
  // nullopt when this request holds the slot; else 409 "`what` is running" with Retry-After.
  std::optional<HttpResponse> refusal(const std::string& what, int retry_after_s) const;

 private:
  std::atomic<bool>& running_;
  bool mine_;
};

// A state change's body: a JSON object sent as application/json, or the 415 / 400 to answer.
std::variant<Json, HttpResponse> json_object_body(const HttpRequest& request);

}  // namespace prov
