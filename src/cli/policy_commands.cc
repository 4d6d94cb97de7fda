#include "cli/policy_commands.h"

#include <fstream>

#include "policy/compiled_policy.h"
#include "policy/explain.h"
#include "policy/policy_cases.h"

namespace prov {
namespace {

void print_diagnostics(const PolicyLoadError& e, std::ostream& err) {
  for (const auto& d : e.diagnostics()) err << d.to_string() << "\n";
  const auto n = e.diagnostics().size();
  err << n << " error" << (n == 1 ? "" : "s") << "\n";
}

}  // namespace

int cmd_policy_validate(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err, const std::vector<std::string>* targets,
                        const std::vector<std::string>* without_password_folder) {
  if (args.size() != 1) {
    err << "usage: provisionctl policy validate PATH\n";
    return 2;
  }
  try {
    const auto policy = policy::load_policy(args[0]);
    if (targets)
      if (auto unknown = unknown_targets(*policy, *targets); !unknown.empty())
        throw PolicyLoadError(std::move(unknown));
    if (without_password_folder)
      if (auto d = undeliverable_passwords(*policy, *without_password_folder); !d.empty())
        throw PolicyLoadError(std::move(d));
    out << "policy OK: " << args[0] << ": " << policy->files().size() << " file"
        << (policy->files().size() == 1 ? "" : "s") << ", " << policy->attributes().size()
        << " attributes, " << policy->roles().size() << " roles, "
        << policy->managed_groups().size() << " managed groups, " << policy->entitlements().size()
        << " entitlements (digest " << policy->digest() << ")\n";
    return 0;
  } catch (const PolicyLoadError& e) {
    print_diagnostics(e, err);
    return 1;
  }
}

int cmd_policy_test(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::filesystem::path policy_path;
  std::filesystem::path tests_dir;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--tests" && i + 1 < args.size()) {
      tests_dir = args[++i];
    } else if (policy_path.empty() && !args[i].starts_with("--")) {
      policy_path = args[i];
    } else {
      err << "usage: provisionctl policy test PATH [--tests DIR]\n";
      return 2;
    }
  }
  if (policy_path.empty()) {
    err << "usage: provisionctl policy test PATH [--tests DIR]\n";
    return 2;
  }
  if (tests_dir.empty()) {
    std::error_code ec;
    tests_dir = std::filesystem::is_directory(policy_path, ec)
                    ? policy_path / "tests"
                    : policy_path.parent_path() / "tests";
  }
  try {
    const auto policy = policy::load_policy(policy_path);
    const auto files = policy::find_case_files(tests_dir);
    if (files.empty()) {
      err << "no policy tests (*.yaml) found in " << tests_dir.string() << "\n";
      return 1;
    }
    const auto cases = policy::load_cases(files);
    return policy::run_cases(*policy, cases, SystemClock().now(), out) == 0 ? 0 : 1;
  } catch (const PolicyLoadError& e) {
    print_diagnostics(e, err);
    return 1;
  }
}

int cmd_explain(const Json& worker_record, const std::filesystem::path& policy_path, bool json,
                std::ostream& out, std::ostream& err) {
  try {
    const auto policy = policy::load_policy(policy_path);
    Worker worker;
    worker.record = worker_record;
    if (const auto it = worker_record.find("workerId"); it != worker_record.end()) {
      worker.worker_id = it->is_string() ? it->get<std::string>() : it->dump();
    }
    EvalContext ctx;
    ctx.now = SystemClock().now();
    const Evaluation ev = policy->evaluate(worker, ctx);
    if (json) {
      out << policy::explain_json(*policy, worker, ev).dump(2) << "\n";
    } else {
      out << policy::explain_text(*policy, worker, ev);
    }
    return 0;
  } catch (const PolicyLoadError& e) {
    print_diagnostics(e, err);
    return 1;
  }
}

std::optional<Json> read_worker_file(const std::string& file, std::ostream& err) {
  std::ifstream in(file);
  if (!in) {
    err << "explain: cannot read " << file << "\n";
    return std::nullopt;
  }
  Json w;
  try {
    w = Json::parse(in);
  } catch (const Json::exception& e) {
    err << "explain: " << file << " is not valid JSON: " << e.what() << "\n";
    return std::nullopt;
  }
  if (w.contains("worker") && w["worker"].is_object()) w = w["worker"];  // a whole event
  return w;
}

int cmd_policy_explain(const std::vector<std::string>& args, const std::string& worker_file,
                       bool json, std::ostream& out, std::ostream& err) {
  std::vector<std::string> paths;
  for (const auto& a : args)
    if (a != "--json") paths.push_back(a);
  if (paths.size() != 1) {
    err << "usage: provisionctl policy explain PATH --worker FILE.json [--json]\n";
    return 2;
  }
  if (worker_file.empty()) {
    err << "policy explain: which worker? --worker FILE.json (a worker record or an HR event)\n";
    return 2;
  }
  const auto w = read_worker_file(worker_file, err);
  if (!w) return 2;
  return cmd_explain(*w, paths.front(), json, out, err);
}

}  // namespace prov
