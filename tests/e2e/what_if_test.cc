// What-if through the admin API (POST /v1/plan) against a running provisiond and a real slapd:
// a candidate that retires a role lists exactly the group removals that deploying the same
// policy then makes the engine perform; invalid, oversized, unauthenticated and cross-site
// requests are refused with the status the API reference gives.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "e2e/running_daemon_test.h"

namespace prov::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kBerlinRole =
    "  - name: berlin\n"
    "    when: { all: [ { location: Berlin }, { not: { jobCode: { prefix: \"INT-\" } } } ] }\n"
    "    groups: [office-berlin]\n";

// One operation as the comparison sees it: who, where, what, which group.
using OpKey = std::tuple<std::string, std::string, std::string, std::string>;

OpKey key_of(const Json& op) {
  return {op.value("worker_id", ""), op.value("target", ""), op.value("kind", ""),
          op.value("group", "")};
}

class WhatIf : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("prov-whatif-e2e-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    original_ = read_file(std::string(PROV_SOURCE_DIR) + "/policies/example.yaml");
    write_policy(original_);
    DaemonOptions o;
    o.policy_path = (dir_ / "policy.yaml").string();
    daemon_ = std::make_unique<Daemon>(Slapd::shared(), o);
    daemon_->start();
  }
  void TearDown() override {
    if (daemon_) finish_daemon(*daemon_, HasFailure());
    fs::remove_all(dir_);
  }

  void write_policy(const std::string& text) {
    // Write then rename, as config management deploys a policy.
    std::ofstream(dir_ / "policy.yaml.tmp") << text;
    fs::rename(dir_ / "policy.yaml.tmp", dir_ / "policy.yaml");
  }
  std::string without_berlin() const {
    std::string p = original_;
    const auto at = p.find(kBerlinRole);
    EXPECT_NE(at, std::string::npos) << "the example policy changed";
    if (at != std::string::npos) p.erase(at, std::string(kBerlinRole).size());
    return p;
  }

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
                  const std::string& body = {}, const std::string& type = "application/json") {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    if (!body.empty()) headers["Content-Type"] = type;
    return http_request(daemon_->admin_port(), method, target, headers, body);
  }
  HttpResult post_yaml(const std::string& token, const std::string& yaml,
                       const std::string& query = {}) {
    return call("POST", "/v1/plan" + query, token, yaml, "application/yaml");
  }

  // Hires workers and waits until each has an account and nothing is left to do.
  void hire(const std::vector<std::pair<std::string, std::string>>& id_and_location,
            const std::string& token) {
    for (const auto& [id, location] : id_and_location) {
      Json w = make_worker(id, "Wim", "WhatIf" + id);
      w["location"] = location;
      ASSERT_EQ(daemon_->send_event("what-if-hire-" + id, "HIRE", w).status, 202);
    }
    for (const auto& [id, location] : id_and_location)
      ASSERT_TRUE(eventually([&] { return daemon_->person(id).has_value(); })) << id;
    ASSERT_TRUE(eventually([&] {
      const auto s = call("GET", "/v1/status", token);
      return s.status == 200 && s.json().value("ops_pending", -1) == 0 &&
             s.json().value("inbox_pending", -1) == 0;
    }));
  }

  // Every operation of `ids` with an id above `after`, from the workers' pages.
  std::set<OpKey> operations_after(const std::vector<std::string>& ids, std::int64_t after,
                                   const std::string& token, const std::string& status = {}) {
    std::set<OpKey> out;
    for (const auto& id : ids) {
      const auto page = call("GET", "/v1/workers/" + id, token);
      if (page.status != 200) continue;
      const Json body = page.json();  // kept: a loop over a temporary's member would dangle
      for (const auto& op : body["operations"])
        if (op.value("id", std::int64_t{0}) > after &&
            (status.empty() || op.value("status", "") == status))
          out.insert(key_of(op));
    }
    return out;
  }
  std::int64_t newest_operation(const std::vector<std::string>& ids, const std::string& token) {
    std::int64_t newest = 0;
    for (const auto& id : ids) {
      const Json body = call("GET", "/v1/workers/" + id, token).json();
      for (const auto& op : body["operations"])
        newest = std::max(newest, op.value("id", std::int64_t{0}));
    }
    return newest;
  }

  // The plan.what_if audit rows, oldest first.
  std::vector<Json> what_if_audit() {
    std::string audit;
    EXPECT_EQ(daemon_->ctl("audit --json", &audit), 0) << audit;
    std::vector<Json> rows;
    std::istringstream lines(audit);
    for (std::string line; std::getline(lines, line);) {
      Json j = Json::parse(line);
      if (j.value("action", "") == "plan.what_if") rows.push_back(std::move(j));
    }
    return rows;
  }

  fs::path dir_;
  std::string original_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(WhatIf, ACandidateThatDropsARoleShowsExactlyTheRemovalsADeployPerforms) {
  const std::string viewer = new_token("policy-author", "viewer");
  const std::string approver = new_token("oncall", "approver");
  const std::vector<std::string> ids{"910001", "910002", "910003", "910004"};
  hire({{"910001", "Berlin"}, {"910002", "Berlin"}, {"910003", "Berlin"}, {"910004", "Paris"}},
       viewer);

  // The running policy's own plan (GET) and the running policy as candidate: nothing to do.
  const auto current = call("GET", "/v1/plan", viewer);
  ASSERT_EQ(current.status, 200) << current.body;
  EXPECT_TRUE(current.json()["workers"].empty()) << current.body;
  const auto same = post_yaml(viewer, original_);
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(same.json()["total"], 0) << same.body;

  const auto answer = post_yaml(viewer, without_berlin());
  ASSERT_EQ(answer.status, 200) << answer.body;
  const Json a = answer.json();
  EXPECT_EQ(a["summary"]["group_removals"], 3) << answer.body;
  EXPECT_EQ(a["summary"]["creates"], 0) << answer.body;
  EXPECT_EQ(a["summary"]["locks"], 0) << answer.body;
  EXPECT_EQ(a["summary"]["people_affected"], 3) << answer.body;
  // The example policy's brake holds removals a policy change makes.
  EXPECT_EQ(a["summary"]["brake_would_hold"], true) << answer.body;
  EXPECT_EQ(a["total"], 3) << answer.body;
  std::set<OpKey> listed;
  for (const auto& w : a["workers"])
    for (const auto& op : w["operations"]) listed.insert(key_of(op));
  const std::set<OpKey> removals{{"910001", "directory", "remove_member", "office-berlin"},
                                 {"910002", "directory", "remove_member", "office-berlin"},
                                 {"910003", "directory", "remove_member", "office-berlin"}};
  EXPECT_EQ(listed, removals) << answer.body;

  // Paged: one worker a page, the next page named.
  const auto first = post_yaml(viewer, without_berlin(), "?limit=1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json()["workers"].size(), 1u);
  EXPECT_EQ(first.json()["next_offset"], 1);
  const auto last = post_yaml(viewer, without_berlin(), "?limit=2&offset=2");
  EXPECT_EQ(last.json()["workers"].size(), 1u) << last.body;
  EXPECT_FALSE(last.json().contains("next_offset")) << last.body;

  // Nothing was written: no operation, the directory as it was.
  const std::int64_t before = newest_operation(ids, viewer);
  EXPECT_TRUE(operations_after(ids, 0, viewer, "held").empty());
  for (const auto& id : {"910001", "910002", "910003"})
    EXPECT_EQ(daemon_->groups_of(daemon_->person(id)->dn).count("office-berlin"), 1u) << id;

  // Deploy the same policy for real: the engine plans exactly what the what-if listed…
  write_policy(without_berlin());
  std::set<OpKey> planned;
  ASSERT_TRUE(eventually([&] {
    planned = operations_after(ids, before, viewer);
    return planned.size() >= removals.size();
  })) << "the reload planned nothing";
  EXPECT_EQ(planned, removals);
  // …and, once approved, performs exactly those.
  const auto approved = call("POST", "/v1/held/approve", approver, R"({"all":true})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  std::set<OpKey> done;
  ASSERT_TRUE(eventually([&] {
    done = operations_after(ids, before, viewer, "done");
    return done.size() >= removals.size();
  })) << "the removals were not applied";
  EXPECT_EQ(done, removals);
  EXPECT_EQ(operations_after(ids, before, viewer), removals) << "an operation nobody listed";
  for (const auto& id : {"910001", "910002", "910003"})
    EXPECT_EQ(daemon_->groups_of(daemon_->person(id)->dn).count("office-berlin"), 0u) << id;

  // Who looked is audited, with the candidate's digest.
  const auto looked = what_if_audit();
  EXPECT_EQ(looked.size(), 4u);
  for (const auto& j : looked) {
    EXPECT_EQ(j["detail"].value("actor", ""), "token:policy-author") << j.dump();
    EXPECT_EQ(j["detail"].value("digest", "").size(), 64u) << j.dump();
  }
}

TEST_F(WhatIf, AnInvalidCandidateIsRefusedNamingEveryPlace) {
  const std::string viewer = new_token("policy-author", "viewer");
  std::string broken = original_;
  broken.replace(broken.find("groups: [staff]"), 15, "gruops: [staff]");
  const auto one = post_yaml(viewer, broken);
  ASSERT_EQ(one.status, 422) << one.body;
  EXPECT_EQ(one.headers.at("content-type"), "application/problem+json");
  const Json diagnostics = one.json()["diagnostics"];
  ASSERT_FALSE(diagnostics.empty()) << one.body;
  EXPECT_EQ(diagnostics[0]["file"], "policy.yaml") << one.body;
  EXPECT_GT(diagnostics[0]["line"].get<int>(), 0) << one.body;
  EXPECT_GT(diagnostics[0]["column"].get<int>(), 0) << one.body;
  EXPECT_EQ(one.body.find("prov-what-if-"), std::string::npos) << "a temp path: " << one.body;

  // Several files: each problem under the name it was sent with.
  const Json files{{"files", {{"main.yaml", broken}, {"extra.yaml", "roles: 3\n"}}}};
  const auto many = call("POST", "/v1/plan", viewer, files.dump());
  ASSERT_EQ(many.status, 422) << many.body;
  std::string all;
  const Json diagnosed = many.json();
  for (const auto& d : diagnosed["diagnostics"]) all += d.value("text", "") + "\n";
  EXPECT_NE(all.find("extra.yaml:1:"), std::string::npos) << all;
  EXPECT_NE(all.find("main.yaml:"), std::string::npos) << all;

  // The checks a reload makes against the config: a role granting in a target it does not have.
  std::string unknown = original_;
  const std::string line = "groups: [staff]";
  unknown.insert(unknown.find(line) + line.size(),
                 "\n    targets: { crm: { groups: [crm-users] } }");
  const auto target = post_yaml(viewer, unknown);
  ASSERT_EQ(target.status, 422) << target.body;
  EXPECT_NE(target.body.find("policy.yaml:"), std::string::npos) << target.body;
  EXPECT_NE(target.body.find("unknown target 'crm'"), std::string::npos) << target.body;

  // The same policy as files in JSON: loaded, planned.
  const auto as_files =
      call("POST", "/v1/plan", viewer, Json{{"files", {{"policy.yaml", original_}}}}.dump());
  EXPECT_EQ(as_files.status, 200) << as_files.body;

  // The refused looks are audited too, with the number of problems.
  int refused = 0;
  for (const auto& j : what_if_audit()) refused += j["detail"].value("valid", true) ? 0 : 1;
  EXPECT_EQ(refused, 3);

  EXPECT_EQ(call("POST", "/v1/plan", viewer, "roles: []", "text/plain").status, 415);
  const auto bad_name =
      call("POST", "/v1/plan", viewer, Json{{"files", {{"../x.yaml", "roles: []"}}}}.dump());
  EXPECT_EQ(bad_name.status, 400) << bad_name.body;
}

TEST_F(WhatIf, OversizedAnonymousAndCrossSiteRequestsAreRefused) {
  const std::string viewer = new_token("policy-author", "viewer");
  const auto big = post_yaml(viewer, "# " + std::string(std::size_t{1} << 20, 'x') + "\n");
  EXPECT_EQ(big.status, 413) << big.body.substr(0, 200);
  const auto anonymous = post_yaml("", original_);
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;

  // A console session: the cookie alone is not enough to post, the CSRF token is.
  const auto login = call("POST", "/v1/session", "", Json{{"token", viewer}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.headers.at("set-cookie");
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = login.json().value("csrf", "");
  auto with_cookie = [&](const std::string& csrf_header) {
    std::map<std::string, std::string> headers{{"Cookie", cookie},
                                               {"Content-Type", "application/yaml"}};
    if (!csrf_header.empty()) headers["X-CSRF-Token"] = csrf_header;
    return http_request(daemon_->admin_port(), "POST", "/v1/plan", headers, original_);
  };
  const auto forged = with_cookie("");
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_EQ(forged.json().value("field", ""), "x-csrf-token") << forged.body;
  const auto ok = with_cookie(csrf);
  EXPECT_EQ(ok.status, 200) << ok.body;
}

}  // namespace
}  // namespace prov::testing
