// A candidate policy uploaded as text: loaded by the normal loader from a private folder that is
// gone afterwards, diagnostics naming the files as uploaded, and the reload's checks against the
// config's targets.
#include "prov/uploaded_policy.h"

#include <gmock/gmock.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace prov {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string example_policy() {
  std::ifstream in(std::string(PROV_SOURCE_DIR) + "/policies/example.yaml");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Config config_with_password_folder() {
  Config c;
  DirectoryConfig d;
  d.password_dir = "/var/lib/provisiond/passwords";
  c.targets.push_back(d);
  return c;
}

// Folders the loader left in the temp folder (there must be none).
int leftover_folders() {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
    if (e.path().filename().string().starts_with("prov-what-if-")) ++n;
  return n;
}

// A temp folder of this test's own (TMPDIR), so the count is not disturbed by other tests that
// load candidates at the same time.
struct OwnTempFolder {
  std::string path = (fs::temp_directory_path() / "prov-uploaded-test-XXXXXX").string();
  std::string previous;
  bool had_previous = false;
  OwnTempFolder() {
    if (mkdtemp(path.data()) == nullptr) path.clear();
    if (const char* t = std::getenv("TMPDIR")) {
      previous = t;
      had_previous = true;
    }
    if (!path.empty()) setenv("TMPDIR", path.c_str(), 1);
  }
  ~OwnTempFolder() {
    if (had_previous) {
      setenv("TMPDIR", previous.c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

TEST(UploadedPolicy, AValidCandidateLoadsAndLeavesNothingBehind) {
  const OwnTempFolder own;
  ASSERT_FALSE(own.path.empty());
  ASSERT_EQ(fs::temp_directory_path(), fs::path(own.path));
  const int before = leftover_folders();
  const auto loaded =
      load_uploaded_policy({{"policy.yaml", example_policy()}}, config_with_password_folder());
  ASSERT_TRUE(loaded.policy) << (loaded.diagnostics.empty() ? ""
                                                            : loaded.diagnostics[0].to_string());
  EXPECT_TRUE(loaded.diagnostics.empty());
  EXPECT_EQ(loaded.digest.size(), 64u);
  EXPECT_EQ(leftover_folders(), before);
}

TEST(UploadedPolicy, DiagnosticsNameTheFilesAsUploaded) {
  std::string broken = example_policy();
  broken.replace(broken.find("groups: [staff]"), 15, "gruops: [staff]");
  const auto loaded = load_uploaded_policy({{"main.yaml", broken}, {"extra.yml", "roles: 3\n"}},
                                           config_with_password_folder());
  EXPECT_FALSE(loaded.policy);
  ASSERT_GE(loaded.diagnostics.size(), 2u);
  std::set<std::string> files;
  for (const auto& d : loaded.diagnostics) {
    files.insert(d.file);
    EXPECT_GT(d.line, 0) << d.to_string();
    EXPECT_GT(d.column, 0) << d.to_string();
    EXPECT_THAT(d.to_string(), ::testing::Not(HasSubstr("prov-what-if-")));
  }
  EXPECT_EQ(files, (std::set<std::string>{"main.yaml", "extra.yml"}));
}

TEST(UploadedPolicy, TheReloadsTargetChecksApply) {
  std::string unknown = example_policy();
  const std::string line = "groups: [staff]";
  unknown.insert(unknown.find(line) + line.size(),
                 "\n    targets: { crm: { groups: [crm-users] } }");
  Config no_folder;
  no_folder.targets.push_back(DirectoryConfig{});  // initial passwords with nowhere to go
  const auto loaded = load_uploaded_policy({{"p.yaml", unknown}}, no_folder);
  EXPECT_FALSE(loaded.policy);
  std::string all;
  for (const auto& d : loaded.diagnostics) all += d.to_string() + "\n";
  EXPECT_THAT(all, HasSubstr("p.yaml:"));
  EXPECT_THAT(all, HasSubstr("unknown target 'crm'"));
  EXPECT_THAT(all, HasSubstr("password"));
}

TEST(UploadedPolicy, TheDigestIsTheContentsNotTheFolder) {
  const std::map<std::string, std::string> files{{"a.yaml", example_policy()}};
  EXPECT_EQ(load_uploaded_policy(files, config_with_password_folder()).digest,
            load_uploaded_policy(files, config_with_password_folder()).digest);
}

TEST(UploadedPolicy, NamesMustBePlainYamlFileNames) {
  EXPECT_EQ(uploaded_names_problem({{"policy.yaml", ""}, {"more.yml", ""}}), "");
  EXPECT_NE(uploaded_names_problem({}), "");
  for (const char* bad : {"../x.yaml", "sub/x.yaml", ".hidden.yaml", "x.txt", "x.yaml.bak"})
    EXPECT_NE(uploaded_names_problem({{bad, ""}}), "") << bad;
}

}  // namespace
}  // namespace prov
