#include "admin/admin.h"

#include "admin/api.h"
#include "admin/console.h"
#include "prov/log.h"
#include "prov/metrics.h"

namespace prov {
namespace {

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding of one query component; nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    out[*key] = *value;
  }
  return out;
}

HttpResponse open_endpoint(const AdminContext& ctx, const std::string& target) {
  HttpResponse r;
  if (target == "/healthz") {
    r.body = R"({"status":"ok"})";
  } else if (target == "/readyz") {
    switch (ctx.health()) {
      case ExecutorHealth::Ok: r.body = R"({"status":"ready"})"; break;
      case ExecutorHealth::DirectoryUnavailable:
        return problem(503, "Not Ready", "the directory is unreachable; operations wait");
      case ExecutorHealth::CredentialsRejected:
        return problem(503, "Not Ready",
                       "the directory rejected the service credentials; executor stopped",
                       "directory.password_file");
    }
  } else {
    r.content_type = "text/plain; version=0.0.4";
    r.body = Metrics::global().render();
  }
  return r;
}

}  // namespace

HttpResponse json_response(const Json& body, int status) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

std::optional<std::int64_t> query_number(const ApiCall& call, const std::string& field,
                                         std::int64_t low, std::int64_t high,
                                         std::int64_t fallback, std::optional<HttpResponse>& bad) {
  auto it = call.query.find(field);
  if (it == call.query.end()) return fallback;
  try {
    std::size_t used = 0;
    const long long n = std::stoll(it->second, &used);
    if (used == it->second.size() && n >= low && n <= high) return n;
  } catch (const std::exception&) {
  }
  bad = problem(400, "Bad Request",
                field + " must be a whole number from " + std::to_string(low) + " to " +
                    std::to_string(high),
                field);
  return std::nullopt;
}

std::variant<Json, HttpResponse> json_object_body(const HttpRequest& request) {
  const std::string type = request.header("content-type");
  if (type.substr(0, type.find(';')) != "application/json")
    return problem(415, "Unsupported Media Type", "send the body as application/json");
  Json body;
  try {
    body = Json::parse(request.body);
  } catch (const Json::exception&) {
    return problem(400, "Bad Request", "the body is not JSON");
  }
  if (!body.is_object()) return problem(400, "Bad Request", "the body must be a JSON object");
  return body;
}

std::optional<HttpResponse> RunAlone::refusal(const std::string& what, int retry_after_s) const {
  if (mine_) return std::nullopt;
  auto busy = problem(409, "Conflict", what + " is running; ask again when it is done");
  busy.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return busy;
}

std::optional<HttpResponse> requires_role(const ApiCall& call, Role role) {
  if (call.who.role >= role) return std::nullopt;
  return problem(403, "Forbidden",
                 call.who.name + " has the role " + to_string(call.who.role) + "; this needs " +
                     to_string(role));
}

HttpHandler make_admin_handler(AdminContext ctx) {
  auto shared = std::make_shared<const AdminContext>(std::move(ctx));
  return [shared](HttpRequest req, std::function<void(HttpResponse)> respond) {
    const AdminContext& ctx = *shared;
    const auto question = req.target.find('?');
    ApiCall call{req, req.target.substr(0, question), {}, {}};
    // On the local socket /healthz and the like are API calls too: whoever connects there
    // has an identity anyway.
    if (call.path == "/healthz" || call.path == "/readyz" || call.path == "/metrics") {
      if (req.method != "GET") return respond(problem(405, "Method Not Allowed", "use GET"));
      return respond(open_endpoint(ctx, call.path));
    }
    if (call.path == "/console" || call.path.starts_with("/console/")) {
      if (req.method != "GET") return respond(problem(405, "Method Not Allowed", "use GET"));
      if (auto page = console_file(call.path)) return respond(std::move(*page));
      return respond(problem(404, "Not Found", "no such console page: " + call.path));
    }
    if (!call.path.starts_with("/v1/"))
      return respond(problem(404, "Not Found", "no such admin endpoint: " + call.path));
    // Answers hold personal data and session secrets: no cache keeps them.
    respond = [inner = std::move(respond)](HttpResponse r) {
      r.headers.emplace_back("Cache-Control", "no-store");
      inner(std::move(r));
    };
    if (call.path == "/v1/session" && req.method == "POST")
      return respond(ctx.auth->login(req));
    auto who = ctx.auth->authenticate(req);
    if (auto* refusal = std::get_if<HttpResponse>(&who)) return respond(std::move(*refusal));
    call.who = std::get<Identity>(who);
    if (call.path == "/v1/session" && req.method == "GET")
      return respond(ctx.auth->session_info(req));
    if (call.path == "/v1/session/logout" && req.method == "POST")
      return respond(ctx.auth->logout(req));
    if (question != std::string::npos) {
      auto query = parse_query(std::string_view(req.target).substr(question + 1));
      if (!query)
        return respond(problem(400, "Bad Request", "malformed percent-encoding in the query"));
      call.query = std::move(*query);
    }
    try {
      if (req.method == "GET") {
        if (auto r = api_read(ctx, call)) return respond(std::move(*r));
      } else if (req.method == "POST") {
        if (auto r = api_what_if(ctx, call)) return respond(std::move(*r));
        if (auto r = api_decide(ctx, call)) return respond(std::move(*r));
      } else {
        return respond(problem(405, "Method Not Allowed", "use GET to read, POST to decide"));
      }
    } catch (const std::exception& e) {
      log::error("admin API: request failed", {{"path", call.path}, {"error", e.what()}});
      return respond(problem(500, "Internal Server Error", e.what()));
    }
    respond(problem(404, "Not Found", "no such admin endpoint: " + req.method + " " + call.path));
  };
}

}  // namespace prov
