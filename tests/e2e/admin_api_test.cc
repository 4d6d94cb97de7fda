// The admin API against a running provisiond and a real slapd: named tokens kept only as hashes,
// roles enforced on every decision, decisions audited with the caller's identity (a token's name
// over TCP, the peer's user over the local socket), failed authentication rate-limited, and a
// held termination approved through the API locking the account in the directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "e2e/running_daemon_test.h"
#include "harness/bind_probe.h"
#include "prov/admin_identity.h"
#include "prov/crypto.h"

namespace prov::testing {
namespace {

// A disable of even one person is held by the brake: every termination waits for a decision.
DaemonOptions braked(const std::string& admin_yaml = {}) {
  DaemonOptions o;
  o.extra_yaml = "safety: { max_destructive: 0 }\n";
  o.admin_yaml = admin_yaml;
  return o;
}

class AdminApi : public ::testing::Test {
 protected:
  void start(DaemonOptions options) {
    daemon_ = std::make_unique<Daemon>(Slapd::shared(), std::move(options));
    daemon_->start();
  }
  void TearDown() override {
    if (daemon_) finish_daemon(*daemon_, HasFailure());
  }

  // `provisionctl token new NAME --role ROLE`: the token it prints once.
  std::string new_token(const std::string& name, const std::string& role) {
    std::string out;
    EXPECT_EQ(daemon_->ctl("token new " + name + " --role " + role, &out), 0) << out;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("pvd_", 0) == 0) return line;
    ADD_FAILURE() << "no token printed: " << out;
    return {};
  }

  HttpResult call(const std::string& method, const std::string& target, const std::string& token,
                  const std::string& body = {}) {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    if (!body.empty()) headers["Content-Type"] = "application/json";
    return http_request(daemon_->admin_port(), method, target, headers, body);
  }

  // Hires `id`, waits for the account, terminates the worker and waits for the held disable.
  std::int64_t held_termination(const std::string& id) {
    const Json w = make_worker(id, "Tara", "Term" + id);
    EXPECT_EQ(daemon_->send_event("hire-" + id, "HIRE", w).status, 202);
    EXPECT_TRUE(eventually([&] { return !daemon_->password_of(id).empty(); }))
        << "no account for " << id;
    EXPECT_EQ(daemon_->send_event("term-" + id, "TERMINATION", w).status, 202);
    std::int64_t held = 0;
    EXPECT_TRUE(eventually([&] {
      std::string out;
      if (daemon_->ctl("held --json", &out) != 0) return false;
      for (const auto& op : Json::parse(out))
        if (op.value("worker_id", "") == id && op.value("kind", "") == "disable")
          held = op.value("id", std::int64_t{0});
      return held != 0;
    })) << "the termination's disable was not held";
    return held;
  }

  // The actor of the op.approved audit row of operation `op_id` ("" when there is none).
  std::string approver_of(std::int64_t op_id) {
    std::string out;
    EXPECT_EQ(daemon_->ctl("audit --json", &out), 0) << out;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      const Json j = Json::parse(line);
      if (j.value("action", "") == "op.approved" && j.value("op_id", std::int64_t{0}) == op_id)
        return j["detail"].value("actor", "");
    }
    return {};
  }

  std::unique_ptr<Daemon> daemon_;
};

TEST_F(AdminApi, TokensAreKeptAsHashesAndEveryDecisionNeedsItsRole) {
  start(braked());
  const std::string viewer = new_token("dash", "viewer");
  const std::string approver = new_token("oncall", "approver");
  ASSERT_FALSE(viewer.empty());
  ASSERT_FALSE(approver.empty());

  // At rest: the hashes, never the tokens.
  const std::string stored = read_file(daemon_->dir() + "/state/api-tokens.jsonl");
  EXPECT_EQ(stored.find(viewer), std::string::npos);
  EXPECT_EQ(stored.find(approver), std::string::npos);
  EXPECT_NE(stored.find(sha256_hex(viewer)), std::string::npos) << stored;
  std::string listed;
  ASSERT_EQ(daemon_->ctl("token list", &listed), 0) << listed;
  EXPECT_NE(listed.find("oncall"), std::string::npos) << listed;
  EXPECT_EQ(listed.find("pvd_"), std::string::npos) << listed;

  // Open: what probes and scrapers ask. Everything under /v1 needs a token.
  EXPECT_EQ(call("GET", "/healthz", "").status, 200);
  const auto anonymous = call("GET", "/v1/status", "");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_EQ(anonymous.headers.at("content-type"), "application/problem+json");
  EXPECT_EQ(call("GET", "/v1/status", "pvd_" + std::string(64, '0')).status, 401);
  const auto status = call("GET", "/v1/status", viewer);
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_TRUE(status.json().contains("ops_held")) << status.body;
  EXPECT_EQ(call("GET", "/v1/whoami", approver).json().value("identity", ""), "token:oncall");

  const std::int64_t op = held_termination("700001");
  ASSERT_NE(op, 0);
  const std::string body = Json{{"ids", {op}}}.dump();
  const auto no_token = call("POST", "/v1/held/approve", "", body);
  EXPECT_EQ(no_token.status, 401) << no_token.body;
  const auto as_viewer = call("POST", "/v1/held/approve", viewer, body);
  EXPECT_EQ(as_viewer.status, 403) << as_viewer.body;
  EXPECT_EQ(call("POST", "/v1/held/reject", viewer, body).status, 403);
  EXPECT_EQ(call("POST", "/v1/failed/retry", viewer, body).status, 403);
  const auto held = call("GET", "/v1/held", viewer);
  ASSERT_EQ(held.status, 200) << held.body;
  bool still_held = false;
  const Json held_ops = held.json()["operations"];
  for (const auto& row : held_ops)
    still_held |= row.value("id", std::int64_t{0}) == op;
  EXPECT_TRUE(still_held) << held.body;

  // A body that names nothing is refused, naming the field.
  const auto vague = call("POST", "/v1/held/approve", approver, "{}");
  EXPECT_EQ(vague.status, 400) << vague.body;
  EXPECT_EQ(vague.json().value("field", ""), "ids") << vague.body;

  const auto approved = call("POST", "/v1/held/approve", approver, body);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approved.json().value("changed", 0), 1) << approved.body;
  EXPECT_EQ(approver_of(op), "token:oncall");

  // Revoked: refused at the next request, without a restart.
  std::string out;
  ASSERT_EQ(daemon_->ctl("token revoke oncall", &out), 0) << out;
  EXPECT_EQ(call("GET", "/v1/status", approver).status, 401);
  EXPECT_EQ(call("GET", "/v1/status", viewer).status, 200);
  // Never logged.
  const std::string log = read_file(daemon_->log_path());
  EXPECT_EQ(log.find(approver), std::string::npos);
  EXPECT_EQ(log.find(viewer), std::string::npos);
}

TEST_F(AdminApi, HeldTerminationApprovedThroughTheApiLocksTheAccount) {
  start(braked());
  const std::string token = new_token("approver-1", "approver");
  const std::int64_t op = held_termination("700002");
  ASSERT_NE(op, 0);
  const auto entry = daemon_->person("700002");
  ASSERT_TRUE(entry);
  const auto& s = Slapd::shared().info();
  const std::string password = daemon_->password_of("700002");
  EXPECT_TRUE(can_bind(s.ldaps_url, entry->dn, password, s.ca_file))
      << "held: the account must still be usable until someone decides";

  const auto worker = call("GET", "/v1/workers/700002", token);
  ASSERT_EQ(worker.status, 200) << worker.body;
  EXPECT_EQ(worker.json().value("state", ""), "terminated") << worker.body;
  EXPECT_FALSE(worker.json()["timeline"].empty()) << worker.body;
  EXPECT_EQ(call("GET", "/v1/workers/nobody-here", token).status, 404);
  const auto why = call("GET", "/v1/workers/700002/explain", token);
  ASSERT_EQ(why.status, 200) << why.body;
  EXPECT_TRUE(why.json().contains("roles")) << why.body;
  const auto queues = call("GET", "/v1/queues", token);
  ASSERT_EQ(queues.status, 200) << queues.body;
  EXPECT_GE(queues.json()["targets"]["directory"].value("held", 0), 1) << queues.body;
  const auto preview = call("GET", "/v1/plan?worker_id=700002", token);
  EXPECT_EQ(preview.status, 200) << preview.body;
  EXPECT_TRUE(preview.json().contains("summary")) << preview.body;
  EXPECT_EQ(call("GET", "/v1/audit?limit=0", token).status, 400);

  const auto approved = call("POST", "/v1/held/approve", token, Json{{"ids", {op}}}.dump());
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_TRUE(eventually([&] {
    const auto e = daemon_->person("700002");
    return e && !e->first("pwdAccountLockedTime").empty();
  })) << "the approved lock never reached the directory";
  EXPECT_FALSE(can_bind(s.ldaps_url, entry->dn, password, s.ca_file));
  const auto audit = call("GET", "/v1/audit?action=op.approved&worker_id=700002", token);
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_EQ(audit.json()["records"].size(), 1u) << audit.body;
  EXPECT_EQ(audit.json()["records"][0]["detail"].value("actor", ""), "token:approver-1");
}

TEST_F(AdminApi, FailedAuthenticationIsRateLimitedPerSource) {
  start(braked("auth_failures_per_minute: 3"));
  const std::string token = new_token("viewer-2", "viewer");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("GET", "/v1/status", "pvd_wrong" + std::to_string(i)).status, 401);
  const auto limited = call("GET", "/v1/status", "pvd_wrong3");
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_TRUE(limited.headers.count("retry-after")) << limited.body;
  // For the rest of the minute the source is refused whatever it sends, a good token included.
  EXPECT_EQ(call("GET", "/v1/status", token).status, 429);
  // The local socket is another source: its users are named by the kernel, not guessed.
  std::string out;
  EXPECT_EQ(daemon_->ctl("held", &out), 0) << out;
}

// provisionctl decides through the daemon's local socket; the audit names the user the kernel
// reports, whatever the environment claims.
TEST_F(AdminApi, ProvisionctlApprovesOverTheSocketAuditedAsThePeersUser) {
  start(braked());
  const std::int64_t op = held_termination("700003");
  ASSERT_NE(op, 0);
  std::string out;
  ASSERT_EQ(daemon_->ctl("approve " + std::to_string(op), &out), 0) << out;
  const std::string me = user_name(::getuid());
  EXPECT_NE(out.find("approved 1 operation(s) as uid:" + me), std::string::npos) << out;
  EXPECT_EQ(approver_of(op), "uid:" + me);
  EXPECT_TRUE(eventually([&] {
    const auto e = daemon_->person("700003");
    return e && !e->first("pwdAccountLockedTime").empty();
  }));
  // Already decided: said so, exit 1.
  EXPECT_EQ(daemon_->ctl("approve " + std::to_string(op), &out), 1) << out;
  EXPECT_NE(out.find("not in the expected state"), std::string::npos) << out;
}

// Remotely, provisionctl sends the token from a file and the audit names the token.
TEST_F(AdminApi, ProvisionctlWithUrlAndTokenFileDecidesAsTheTokensName) {
  start(braked());
  const std::string token_file = daemon_->dir() + "/remote.token";
  std::ofstream(token_file) << new_token("remote-ops", "approver") << "\n";
  const std::int64_t op = held_termination("700007");
  ASSERT_NE(op, 0);
  const std::string url = "--url http://127.0.0.1:" + std::to_string(daemon_->admin_port());
  std::string out;
  EXPECT_EQ(daemon_->ctl("approve " + std::to_string(op) + " " + url, &out), 1) << out;
  EXPECT_NE(out.find("--token-file"), std::string::npos) << out;
  ASSERT_EQ(daemon_->ctl("approve " + std::to_string(op) + " " + url + " --token-file " +
                             token_file,
                         &out),
            0)
      << out;
  EXPECT_EQ(approver_of(op), "token:remote-ops");
}

TEST_F(AdminApi, ASocketUserGetsTheRoleTheConfigGivesThem) {
  start(braked("socket_roles: { " + user_name(::getuid()) + ": viewer }"));
  const std::int64_t op = held_termination("700004");
  ASSERT_NE(op, 0);
  std::string out;
  EXPECT_EQ(daemon_->ctl("approve " + std::to_string(op), &out), 1) << out;
  EXPECT_NE(out.find("needs approver"), std::string::npos) << out;
  EXPECT_EQ(approver_of(op), "");
}

// The console's pages are static, compiled in and locked down by their CSP; a token logs in to
// an HttpOnly SameSite=Strict session whose state changes need the CSRF token, and whose
// decisions are audited with the token's name.
TEST_F(AdminApi, ConsoleSessionNeedsItsCsrfTokenToDecide) {
  start(braked());
  const std::string token = new_token("console-user", "approver");
  const auto page = call("GET", "/console/", "");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.headers.at("content-type"), "text/html; charset=utf-8");
  const std::string csp = page.headers.at("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(page.body.find("<script>"), std::string::npos) << "no inline scripts";
  EXPECT_EQ(call("GET", "/console/app.js", "").status, 200);
  EXPECT_EQ(call("GET", "/console/nothing.js", "").status, 404);

  EXPECT_EQ(call("POST", "/v1/session", "", R"({"token":"pvd_wrong"})").status, 401);
  const auto login = call("POST", "/v1/session", "", Json{{"token", token}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.headers.at("set-cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain HTTP: " << set_cookie;
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = login.json().value("csrf", "");
  ASSERT_FALSE(csrf.empty()) << login.body;
  EXPECT_EQ(login.body.find(token), std::string::npos);
  EXPECT_EQ(login.headers.at("cache-control"), "no-store");

  const auto with_cookie = [&](const std::string& method, const std::string& target,
                               const std::string& body, const std::string& csrf_header) {
    std::map<std::string, std::string> headers{{"Cookie", cookie}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    if (!csrf_header.empty()) headers["X-CSRF-Token"] = csrf_header;
    return http_request(daemon_->admin_port(), method, target, headers, body);
  };
  EXPECT_EQ(with_cookie("GET", "/v1/status", "", "").status, 200);
  EXPECT_EQ(with_cookie("GET", "/v1/session", "", "").json().value("csrf", ""), csrf);

  const std::int64_t op = held_termination("700006");
  ASSERT_NE(op, 0);
  const std::string body = Json{{"ids", {op}}}.dump();
  const auto forged = with_cookie("POST", "/v1/held/approve", body, "");
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_EQ(forged.json().value("field", ""), "x-csrf-token") << forged.body;
  EXPECT_EQ(with_cookie("POST", "/v1/held/approve", body, csrf + "0").status, 403);
  EXPECT_EQ(approver_of(op), "");
  const auto approved = with_cookie("POST", "/v1/held/approve", body, csrf);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(approver_of(op), "token:console-user");

  // Revoking the token ends the sessions made with it.
  std::string out;
  ASSERT_EQ(daemon_->ctl("token revoke console-user", &out), 0) << out;
  EXPECT_EQ(with_cookie("GET", "/v1/status", "", "").status, 401);
}

// Each decision needs its role: a viewer gets 403 on every one, an approver on reconcile; an
// admin's reconcile compares the directory and is audited with the token's name.
TEST_F(AdminApi, ReconcileNeedsAdminAndIsAuditedWithTheCaller) {
  start(braked());
  const std::string viewer = new_token("rv", "viewer");
  const std::string approver = new_token("ra", "approver");
  const std::string admin = new_token("root-ops", "admin");
  const std::int64_t op = held_termination("700008");
  ASSERT_NE(op, 0);
  const std::string ids = Json{{"ids", {op}}}.dump();
  for (const char* path : {"/v1/held/approve", "/v1/held/reject", "/v1/failed/retry"}) {
    const auto r = call("POST", path, viewer, ids);
    EXPECT_EQ(r.status, 403) << path << ": " << r.body;
    EXPECT_EQ(r.headers.at("content-type"), "application/problem+json") << path;
  }
  EXPECT_EQ(call("POST", "/v1/reconcile", viewer, "{}").status, 403);
  const auto as_approver = call("POST", "/v1/reconcile", approver, "{}");
  EXPECT_EQ(as_approver.status, 403) << as_approver.body;
  EXPECT_NE(as_approver.body.find("needs admin"), std::string::npos) << as_approver.body;

  const auto bad = call("POST", "/v1/reconcile", admin, R"({"apply": "yes"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json().value("field", ""), "apply") << bad.body;
  const auto no_target = call("POST", "/v1/reconcile", admin, R"({"target": "nowhere"})");
  EXPECT_EQ(no_target.status, 400) << no_target.body;
  EXPECT_EQ(no_target.json().value("field", ""), "target") << no_target.body;

  const auto ran = call("POST", "/v1/reconcile", admin, R"({"apply": false})");
  ASSERT_EQ(ran.status, 200) << ran.body;
  EXPECT_EQ(ran.json().value("actor", ""), "token:root-ops") << ran.body;
  EXPECT_GE(ran.json().value("compared", 0), 0) << ran.body;
  EXPECT_TRUE(ran.json()["drifts"].is_array()) << ran.body;
  const auto audit = call("GET", "/v1/audit?action=reconcile.run", viewer);
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_EQ(audit.json()["records"].size(), 1u) << audit.body;
  EXPECT_EQ(audit.json()["records"][0]["detail"].value("actor", ""), "token:root-ops");
  EXPECT_EQ(audit.json()["records"][0]["detail"].value("apply", true), false);
}

// A group membership removed by hand: an admin's reconcile through the API finds it, hands it
// to the engine, which puts the member back; the repair is audited with the token's name.
TEST_F(AdminApi, ReconcileThroughTheApiCorrectsDriftMadeByHand) {
  start(braked());
  const std::string admin = new_token("fixer", "admin");
  const std::string id = "700031";
  // Two members, so that removing one leaves the groupOfNames valid.
  ASSERT_EQ(daemon_->send_event("hire-" + id, "HIRE", make_worker(id, "Rita", "Drift")).status,
            202);
  ASSERT_EQ(
      daemon_->send_event("hire-700032", "HIRE", make_worker("700032", "Sam", "Steady")).status,
      202);
  EXPECT_TRUE(eventually([&] { return !daemon_->password_of("700032").empty(); }));
  std::optional<LdapEntry> rita;
  ASSERT_TRUE(eventually([&] {
    rita = daemon_->person(id);
    return rita && daemon_->groups_of(rita->dn).count("staff") > 0;
  })) << "no account in staff for " << id;
  const auto& s = Slapd::shared().info();
  const std::string ldif = "dn: cn=staff,ou=groups," + s.base_dn +
                           "\nchangetype: modify\ndelete: member\nmember: " + rita->dn + "\n";
  std::string out;
  ASSERT_EQ(run_command("printf '%s' " + shell_quote(ldif) + " | ldapmodify -x -H " +
                            shell_quote(s.url) + " -D " + shell_quote(s.root_dn) + " -w " +
                            shell_quote(s.root_pw),
                        &out),
            0)
      << out;
  ASSERT_FALSE(daemon_->groups_of(rita->dn).count("staff"));

  const auto ran = call("POST", "/v1/reconcile", admin, R"({"apply": true})");
  ASSERT_EQ(ran.status, 200) << ran.body;
  const Json report = ran.json();
  EXPECT_GE(report.value("handed_to_engine", 0), 1) << ran.body;
  bool found = false;
  for (const auto& d : report["drifts"])
    found |= d.value("worker_id", "") == id && d.value("kind", "") == "changed";
  EXPECT_TRUE(found) << ran.body;
  EXPECT_TRUE(eventually([&] { return daemon_->groups_of(rita->dn).count("staff") > 0; }))
      << "the engine did not put the member back";
  const auto audit =
      call("GET", "/v1/audit?action=reconcile.drift&worker_id=" + id, admin).json();
  ASSERT_FALSE(audit["records"].empty()) << audit.dump();
  EXPECT_EQ(audit["records"][0]["detail"].value("actor", ""), "token:fixer");
}

// The access report pages through every membership with the role that grants it.
TEST_F(AdminApi, AccessReportIsFilteredAndPaged) {
  start(braked());
  const std::string viewer = new_token("auditor", "viewer");
  for (const std::string id : {"700011", "700012"}) {
    EXPECT_EQ(daemon_->send_event("hire-" + id, "HIRE", make_worker(id, "Ann", "Acc" + id)).status,
              202);
    EXPECT_TRUE(eventually([&] { return !daemon_->password_of(id).empty(); })) << id;
  }
  const auto all = call("GET", "/v1/report/access", viewer);
  ASSERT_EQ(all.status, 200) << all.body;
  const Json report = all.json();
  ASSERT_GE(report.value("total", 0), 2) << all.body;
  for (const auto& row : report["rows"]) {
    EXPECT_FALSE(row.value("group", "").empty()) << row;
    if (row.value("status", "") == "granted") EXPECT_FALSE(row.value("granted_by", "").empty()) << row;
  }
  const auto one = call("GET", "/v1/report/access?worker=700011&limit=1", viewer);
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(one.json()["rows"].size(), 1u) << one.body;
  EXPECT_EQ(one.json()["rows"][0].value("worker_id", ""), "700011");
  if (one.json().value("total", 0) > 1) {
    EXPECT_EQ(one.json().value("next_offset", 0), 1) << one.body;
    const auto second = call("GET", "/v1/report/access?worker=700011&limit=1&offset=1", viewer);
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_NE(second.json()["rows"][0].value("group", ""), one.json()["rows"][0].value("group", ""));
  }
  const std::string group = report["rows"][0].value("group", "");
  const auto by_group = call("GET", "/v1/report/access?group=" + group, viewer);
  ASSERT_EQ(by_group.status, 200) << by_group.body;
  for (const auto& row : by_group.json()["rows"]) EXPECT_EQ(row.value("group", ""), group);
  const auto bad_target = call("GET", "/v1/report/access?target=nowhere", viewer);
  EXPECT_EQ(bad_target.status, 400) << bad_target.body;
  EXPECT_EQ(bad_target.json().value("field", ""), "target");
  EXPECT_EQ(call("GET", "/v1/report/access?limit=0", viewer).json().value("field", ""), "limit");
  EXPECT_EQ(call("GET", "/v1/report/access?offset=-1", viewer).json().value("field", ""),
            "offset");
  EXPECT_EQ(call("GET", "/v1/report/access", "").status, 401);
  const auto retrieve = call("GET", "/v1/report/retrieve?since=2020-01-01", viewer);
  ASSERT_EQ(retrieve.status, 200) << retrieve.body;
  EXPECT_TRUE(retrieve.json()["entitlements"].is_array()) << retrieve.body;
  EXPECT_EQ(call("GET", "/v1/report/retrieve?since=later", viewer).json().value("field", ""),
            "since");
  EXPECT_TRUE(call("GET", "/v1/workers/700011", viewer).json()["entitlements"].is_array());

  // The audit pages from the newest match, within a time range.
  const auto newest = call("GET", "/v1/audit?worker_id=700011&limit=2", viewer);
  const auto older = call("GET", "/v1/audit?worker_id=700011&limit=2&offset=2", viewer);
  ASSERT_EQ(newest.status, 200) << newest.body;
  ASSERT_EQ(older.status, 200) << older.body;
  ASSERT_EQ(newest.json()["records"].size(), 2u) << newest.body;
  ASSERT_FALSE(older.json()["records"].empty()) << older.body;
  EXPECT_LE(older.json()["records"].back().value("at", ""),
            newest.json()["records"].front().value("at", ""));
  EXPECT_NE(older.json()["records"].back().dump(), newest.json()["records"].front().dump());
  const auto future = call("GET", "/v1/audit?since=2999-01-01", viewer);
  EXPECT_TRUE(future.json()["records"].empty()) << future.body;
  const auto past = call("GET", "/v1/audit?until=2000-01-01", viewer);
  EXPECT_TRUE(past.json()["records"].empty()) << past.body;
  EXPECT_EQ(call("GET", "/v1/audit?until=soon", viewer).json().value("field", ""), "until");
  EXPECT_EQ(call("GET", "/v1/audit?offset=x", viewer).json().value("field", ""), "offset");
}

// Without a running daemon a decision is refused with the reason, and nothing is written.
TEST_F(AdminApi, DecisionsWithoutTheDaemonAreRefusedClearly) {
  start(braked());
  const std::int64_t op = held_termination("700005");
  ASSERT_NE(op, 0);
  ASSERT_EQ(daemon_->stop(), 0);
  std::string out;
  EXPECT_EQ(daemon_->ctl("approve " + std::to_string(op), &out), 1) << out;
  EXPECT_NE(out.find("cannot reach provisiond at unix:"), std::string::npos) << out;
  ASSERT_EQ(daemon_->ctl("held --json", &out), 0) << out;
  bool still_held = false;
  for (const auto& row : Json::parse(out)) still_held |= row.value("id", std::int64_t{0}) == op;
  EXPECT_TRUE(still_held) << out;
}

}  // namespace
}  // namespace prov::testing
