// Anchors of the audit's hash chain leave the state database: the daemon logs the chain's head
// and appends it to state.audit_anchor_file, so a rewritten audit (chain recomputed and all) no
// longer matches what was written outside it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/running_daemon_test.h"
#include "prov/store.h"

namespace prov::testing {
namespace {

std::vector<Json> lines_of(const std::string& path) {
  std::vector<Json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

TEST(AuditAnchor, TheHeadAtStopIsWrittenOutsideTheStateFolder) {
  char tmpl[] = "/tmp/prov-anchor-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string anchors = std::string(tmpl) + "/anchors.jsonl";
  DaemonOptions o;
  o.state_yaml = "audit_anchor_file: " + anchors;
  Daemon daemon(Slapd::shared(), o);
  daemon.start();
  const auto r = daemon.send_event("anchor-hire-1", "HIRE", make_worker("880001", "Ana", "Anchor"));
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(eventually([&] { return daemon.person("880001").has_value(); }));
  ASSERT_EQ(daemon.stop(), 0);

  const auto written = lines_of(anchors);
  ASSERT_FALSE(written.empty()) << "no anchor in " << anchors;
  auto store = Store::open_read_only(daemon.state_path());
  const auto head = store->audit_head();
  ASSERT_TRUE(head.has_value());
  // The last anchor, written at the orderly stop, is the chain's head; the chain verifies to it.
  EXPECT_EQ(written.back().at("audit_head_id"), head->id);
  EXPECT_EQ(written.back().at("audit_head_hash"), head->hash);
  const AuditCheck check = store->verify_audit();
  EXPECT_TRUE(check.intact) << check.problem;
  EXPECT_EQ(check.head.hash, head->hash);
  std::string log;
  run_command("grep -c '\"audit anchor\"' " + daemon.log_path(), &log);
  EXPECT_GE(std::atoi(log.c_str()), 1) << log;
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace prov::testing
