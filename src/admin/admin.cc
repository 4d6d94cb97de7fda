#include "admin/admin.h"

#include "prov/metrics.h"
#include "prov/store.h"

namespace prov {

HttpHandler make_admin_handler(AdminContext ctx) {
  return [ctx](HttpRequest req, std::function<void(HttpResponse)> respond) {
    if (req.method != "GET") return respond(problem(405, "Method Not Allowed", "use GET"));
    HttpResponse r;
    if (req.target == "/healthz") {
      r.body = R"({"status":"ok"})";
    } else if (req.target == "/readyz") {
      switch (ctx.health()) {
        case ExecutorHealth::Ok: r.body = R"({"status":"ready"})"; break;
        case ExecutorHealth::DirectoryUnavailable:
          return respond(problem(503, "Not Ready", "the directory is unreachable; operations wait"));
        case ExecutorHealth::CredentialsRejected:
          return respond(problem(503, "Not Ready",
                                 "the directory rejected the service credentials; executor stopped",
                                 "directory.password_file"));
      }
    } else if (req.target == "/metrics") {
      r.content_type = "text/plain; version=0.0.4";
      r.body = Metrics::global().render();
    } else if (req.target == "/v1/status") {
      try {
        auto store = Store::open_read_only(ctx.state_path);
        auto c = store->counts();
        Json j{{"inbox_pending", c.inbox_pending}, {"workers", c.workers},
               {"accounts", c.accounts}, {"ops_pending", c.ops_pending},
               {"ops_held", c.ops_held}, {"ops_failed", c.ops_failed}, {"ops_done", c.ops_done},
               {"schedule_pending", c.schedule_pending}};
        r.body = j.dump();
      } catch (const std::exception& e) {
        return respond(problem(500, "Store Error", e.what()));
      }
    } else {
      return respond(problem(404, "Not Found", "no such admin endpoint: " + req.target));
    }
    respond(std::move(r));
  };
}

}  // namespace prov
