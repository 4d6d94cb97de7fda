// The web console in headless Chromium against a real provisiond and slapd: an approver logs in
// with a token, finds a termination the brake holds, approves it, and the account is locked in
// the directory (a bind as the leaver is refused). The browser side (console_test.mjs) also
// checks the security headers, that a state change without the CSRF token is refused, that the
// pages load without console errors or failed requests, and saves screenshots.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "e2e/running_daemon_test.h"
#include "harness/bind_probe.h"

namespace prov::testing {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

std::string new_token(Daemon& daemon, const std::string& name, const std::string& role) {
  std::string out;
  EXPECT_EQ(daemon.ctl("token new " + name + " --role " + role, &out), 0) << out;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("pvd_", 0) == 0) return line;
  ADD_FAILURE() << "no token printed: " << out;
  return {};
}

// The id of the held disable of `worker_id`, 0 while there is none.
std::int64_t held_disable(Daemon& daemon, const std::string& worker_id) {
  std::string out;
  if (daemon.ctl("held --json", &out) != 0) return 0;
  for (const auto& op : Json::parse(out))
    if (op.value("worker_id", "") == worker_id && op.value("kind", "") == "disable")
      return op.value("id", std::int64_t{0});
  return 0;
}

TEST(ConsoleInBrowser, ApproverApprovesAHeldTerminationAndTheAccountLocks) {
  const std::string modules = std::string(PROV_CONSOLE_TEST_DIR) + "/node_modules/puppeteer-core";
  ASSERT_TRUE(std::filesystem::exists(kChromium)) << kChromium << " missing: run scripts/deps";
  ASSERT_TRUE(std::filesystem::exists(modules)) << modules << " missing: run scripts/deps";

  // Every disable is held: the brake's limit of destructive changes is zero.
  DaemonOptions options;
  options.extra_yaml = "safety: { max_destructive: 0 }\n";
  Daemon daemon(Slapd::shared(), options);
  daemon.start();
  const std::string token = new_token(daemon, "console-approver", "approver");
  const std::string viewer = new_token(daemon, "console-viewer", "viewer");
  ASSERT_FALSE(token.empty());
  ASSERT_FALSE(viewer.empty());

  // A few people, so that the overview and the access report have something to show. The
  // leaver is in Finance: her ERP licence is released, to be retrieved.
  const std::vector<Json> people = {
      make_worker("810001", "Ada", "Lovelace"), make_worker("810002", "Grace", "Hopper", "Finance"),
      make_worker("810003", "Alan", "Turing", "Finance"),
      make_worker("810004", "Edsger", "Dijkstra", "Engineering", "Contractor"),
      make_worker("810005", "Barbara", "Liskov")};
  for (const auto& w : people) {
    const std::string id = w.value("workerId", "");
    ASSERT_EQ(daemon.send_event("hire-" + id, "HIRE", w).status, 202);
  }
  for (const auto& w : people) {
    const std::string id = w.value("workerId", "");
    ASSERT_TRUE(eventually([&] { return !daemon.password_of(id).empty(); })) << "no account " << id;
  }
  const std::string leaver = "810002";
  ASSERT_EQ(daemon.send_event("term-" + leaver, "TERMINATION", people[1]).status, 202);
  std::int64_t op = 0;
  ASSERT_TRUE(eventually([&] { return (op = held_disable(daemon, leaver)) != 0; }))
      << "the termination was not held";
  // The one-time password is delivered as the account is created; the entry may take a moment
  // longer to answer a search.
  std::optional<LdapEntry> entry;
  ASSERT_TRUE(eventually([&] { return (entry = daemon.person(leaver)).has_value(); }))
      << "no entry for " << leaver;
  const auto& s = Slapd::shared().info();
  const std::string password = daemon.password_of(leaver);
  ASSERT_TRUE(can_bind(s.ldaps_url, entry->dn, password, s.ca_file))
      << "held: the leaver's account must still work until someone decides";

  // The tokens reach the browser script in files of mode 0600, not on a command line.
  const auto token_file = [&](const std::string& name, const std::string& value) {
    const std::string path = daemon.dir() + "/" + name;
    std::ofstream(path) << value << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  };
  std::filesystem::create_directories(PROV_CONSOLE_ARTIFACTS);
  const std::string command =
      "CHROMIUM=" + shell_quote(kChromium) +
      " CONSOLE_URL=" + shell_quote("http://127.0.0.1:" + std::to_string(daemon.admin_port())) +
      " TOKEN_FILE=" + shell_quote(token_file("approver.token", token)) +
      " TOKEN_NAME=console-approver" +
      " VIEWER_TOKEN_FILE=" + shell_quote(token_file("viewer.token", viewer)) +
      " HELD_OP=" + std::to_string(op) + " WORKER_ID=" + leaver +
      " ARTIFACTS=" + shell_quote(PROV_CONSOLE_ARTIFACTS) + " node " +
      shell_quote(std::string(PROV_CONSOLE_TEST_DIR) + "/console_test.mjs");
  std::string out;
  const int status = run_command(command, &out);
  std::cerr << out;
  EXPECT_EQ(status, 0) << "the browser test failed (its output is above)";

  // What the leaver sees: the bind is refused once the approved lock has run.
  EXPECT_TRUE(eventually([&] { return !can_bind(s.ldaps_url, entry->dn, password, s.ca_file); }))
      << "approved in the console, yet the leaver can still bind";
  const auto locked = daemon.person(leaver);
  ASSERT_TRUE(locked);
  EXPECT_FALSE(locked->first("pwdAccountLockedTime").empty());
  // The others are untouched.
  const auto other = daemon.person("810001");
  ASSERT_TRUE(other);
  EXPECT_TRUE(can_bind(s.ldaps_url, other->dn, daemon.password_of("810001"), s.ca_file));
  // The approval is audited with the token's name.
  ASSERT_EQ(daemon.ctl("audit --json", &out), 0) << out;
  bool audited = false;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const Json j = Json::parse(line);
    audited |= j.value("action", "") == "op.approved" && j.value("op_id", std::int64_t{0}) == op &&
               j["detail"].value("actor", "") == "token:console-approver";
  }
  EXPECT_TRUE(audited) << out;
  finish_daemon(daemon, HasFailure());
}

}  // namespace
}  // namespace prov::testing
