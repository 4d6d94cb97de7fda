// Username uniqueness against a real slapd: names already in the directory (not ours), names
// planned for other workers, names that fold to the same ASCII, and names reserved after a
// deletion are all skipped by the ladder; nobody is ever overwritten.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "e2e/daemon_fixture.h"

namespace prov::testing {
namespace {
namespace fs = std::filesystem;

std::string example_policy() {
  std::ifstream in(std::string(PROV_SOURCE_DIR) + "/policies/example.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void add_foreign_person(const Slapd& slapd, const std::string& uid, const std::string& number) {
  const auto& s = slapd.info();
  std::string ldif = "dn: uid=" + uid + ",ou=people," + s.base_dn +
                     "\nobjectClass: inetOrgPerson\nuid: " + uid + "\ncn: Someone Else\nsn: Else\n" +
                     "employeeNumber: " + number + "\n";
  std::string path = s.dir + "/foreign-" + uid + ".ldif";
  std::ofstream(path) << ldif;
  std::string out;
  ASSERT_EQ(run_command("ldapadd -x -H " + s.url + " -D '" + s.root_dn + "' -w '" + s.root_pw +
                            "' -f " + path,
                        &out),
            0)
      << out;
}

std::string uid_when_created(Daemon& d, const std::string& worker_id) {
  std::optional<LdapEntry> e;
  eventually([&] { return (e = d.person(worker_id)).has_value(); });
  return e ? e->first("uid") : "";
}

TEST(UsernameUniqueness, FiveJohnSmithsAndAFoldedNameNeverCollide) {
  Slapd& slapd = Slapd::shared();
  add_foreign_person(slapd, "jsmith", "not-from-hr-1");
  Daemon d(slapd);
  d.start();
  std::vector<std::string> uids;
  for (int i = 1; i <= 5; ++i) {
    std::string id = "40000" + std::to_string(i);
    ASSERT_EQ(d.send_event("uniq-" + id, "HIRE", make_worker(id, "John", "Smith")).status, 202);
    uids.push_back(uid_when_created(d, id));
  }
  ASSERT_EQ(d.send_event("uniq-400006", "HIRE", make_worker("400006", "Jöhn", "Smíth")).status, 202);
  uids.push_back(uid_when_created(d, "400006"));
  EXPECT_EQ(uids, (std::vector<std::string>{"john.smith", "jsmith2", "jsmith3", "jsmith4",
                                            "jsmith5", "jsmith6"}));
  // The person who was there first is untouched.
  auto foreign = d.search(slapd.info().base_dn, "(uid=jsmith)");
  ASSERT_EQ(foreign.size(), 1u);
  EXPECT_EQ(foreign[0].first("employeeNumber"), "not-from-hr-1");
  EXPECT_EQ(d.stop(), 0);
}

TEST(UsernameUniqueness, ReleasedNameStaysReservedAfterDeletion) {
  Slapd& slapd = Slapd::shared();
  auto dir = fs::path(slapd.info().dir) / "policy-reserve";
  fs::create_directories(dir);
  std::string policy = example_policy();
  policy = std::regex_replace(policy, std::regex("delete_after_days: 90"), "delete_after_days: 0");
  std::ofstream(dir / "policy.yaml") << policy;
  DaemonOptions o;
  o.policy_path = (dir / "policy.yaml").string();
  Daemon d(slapd, o);
  d.start();
  ASSERT_EQ(d.send_event("res-1", "HIRE", make_worker("410001", "Rosa", "Reserve")).status, 202);
  ASSERT_EQ(uid_when_created(d, "410001"), "rreserve");
  ASSERT_EQ(d.send_event("res-2", "TERMINATION", make_worker("410001", "Rosa", "Reserve")).status, 202);
  ASSERT_TRUE(eventually([&] { return !d.person("410001").has_value(); }))
      << "a zero-day retention deletes the account";
  // Someone new with the same name does not inherit the released username.
  ASSERT_EQ(d.send_event("res-3", "HIRE", make_worker("410002", "Rita", "Reserve")).status, 202);
  EXPECT_EQ(uid_when_created(d, "410002"), "rita.reserve");
  std::string audit;
  d.ctl("audit --worker-id 410001", &audit);
  EXPECT_NE(audit.find("delete"), std::string::npos) << audit;
  EXPECT_EQ(d.stop(), 0);
}

}  // namespace
}  // namespace prov::testing
