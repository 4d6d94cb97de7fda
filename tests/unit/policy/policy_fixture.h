#pragma once
// Shared helpers for the policy tests: inline policies written to a private temp folder, and a
// one-call evaluation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "prov/policy.h"

namespace prov::policy::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("prov_policy_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

// The smallest valid header; tests append attributes and roles.
inline const char* kLadder =
    "version: 1\n"
    "username:\n"
    "  candidates:\n"
    "    - \"{{ worker.firstName | first(1) }}{{ worker.lastName }}\"\n"
    "    - \"{{ worker.firstName }}.{{ worker.lastName }}\"\n"
    "    - \"{{ worker.firstName | first(1) }}{{ worker.lastName }}{{ n }}\"\n"
    "  transform: [ascii, lower, alnum]\n"
    "  max_length: 20\n";

class PolicyTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Policy> load(const std::string& text) {
    return Policy::load(dir_.write("policy.yaml", text));
  }
  // Loads `text`, expecting failure; returns the diagnostics as "line:column: message".
  std::vector<PolicyDiagnostic> errors(const std::string& text) {
    try {
      Policy::load(dir_.write("policy.yaml", text));
    } catch (const PolicyLoadError& e) {
      return e.diagnostics();
    }
    ADD_FAILURE() << "policy loaded without errors";
    return {};
  }
  static Worker worker(const Json& record) {
    Worker w;
    w.record = record;
    if (record.contains("workerId")) w.worker_id = record["workerId"].get<std::string>();
    return w;
  }
  static EvalContext context(std::set<std::string> taken = {}) {
    EvalContext ctx;
    ctx.now = *parse_time("2026-12-01");
    ctx.username_free = [taken](const std::string& u) { return taken.count(u) == 0; };
    return ctx;
  }
  static std::set<std::string> matched_roles(const Evaluation& ev) {
    std::set<std::string> out;
    for (const auto& r : ev.roles) {
      if (r.matched) out.insert(r.name);
    }
    return out;
  }

  TempDir dir_;
};

}  // namespace prov::policy::testing
