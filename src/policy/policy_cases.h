#pragma once
// Policy tests: YAML files of cases that run a worker through the policy and compare the result
// with partial expectations (only the listed keys are checked; roles, groups and entitlements
// compare as sets).
//   - name: finance employee gets the ERP licence
//     worker: { workerId: "1", firstName: Ann, lastName: Lee, department: Finance }
//     now: 2026-12-01          # optional; default: the current time
//     taken: [alee]            # optional: usernames that are not free
//     is_manager: true         # optional: the isManager fact
//     existing_username: ann   # optional: the worker already has this username
//     expect: { roles: [...], groups: [...], entitlements: [...], ou: ..., username: ...,
//               attributes: { mail: ... }, manager: "100001", hold: false }
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "prov/clock.h"
#include "prov/model.h"
#include "prov/policy.h"

namespace prov::policy {

struct CaseExpectation {
  std::optional<std::set<std::string>> roles;
  std::optional<std::set<std::string>> groups;
  std::optional<std::set<std::string>> entitlements;
  std::optional<std::string> ou;
  std::optional<std::string> username;
  std::optional<std::string> manager;
  std::optional<bool> hold;
  std::map<std::string, std::string> attributes;
};

struct PolicyCase {
  std::string name;
  std::string location;  // file:line:column of the case
  Json worker = Json::object();
  std::optional<TimePoint> now;
  std::set<std::string> taken;
  bool is_manager = false;
  std::optional<std::string> existing_username;
  CaseExpectation expect;
};

struct CaseResult {
  bool passed = false;
  std::vector<std::string> differences;  // one line per mismatching key
};

// The *.yaml / *.yml files directly inside `dir`, sorted.
std::vector<std::filesystem::path> find_case_files(const std::filesystem::path& dir);
// Parses case files. Throws PolicyLoadError listing every malformed case with file:line:column.
std::vector<PolicyCase> load_cases(const std::vector<std::filesystem::path>& files);
// Runs one case; `default_now` is used when the case has no `now`.
CaseResult run_case(const Policy& policy, const PolicyCase& c, TimePoint default_now);
// Runs every case, printing "ok"/"FAIL" lines with differences and a summary. Returns the
// number of failed cases.
int run_cases(const Policy& policy, const std::vector<PolicyCase>& cases, TimePoint default_now,
              std::ostream& out);

}  // namespace prov::policy
