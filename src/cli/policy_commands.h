#pragma once
// provisionctl commands of the policy language. Each returns the process exit code: 0 success,
// 1 the policy (or a policy test) is wrong, 2 wrong usage.
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "prov/model.h"

namespace prov {

// provisionctl [--config FILE] policy validate PATH
// Prints every problem as file:line:column on `err` (exit 1) or a summary on `out` (exit 0).
// With the config's target names, a role naming another target is a problem too; without them
// any well-formed target name passes (the daemon checks again at start and on reload). With
// `without_password_folder` (the keys of the config's directory targets without a
// password_dir), so is a policy asking for initial passwords.
int cmd_policy_validate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                        const std::vector<std::string>* targets = nullptr,
                        const std::vector<std::string>* without_password_folder = nullptr);

// provisionctl policy test PATH [--tests DIR]
// Runs the policy tests in DIR (default: the `tests` folder next to the policy file, or inside
// the policy folder) and prints a difference for each failing case; exit 1 on any failure.
int cmd_policy_test(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// A worker record from FILE.json for explain: the record itself, or a whole HR event (its
// `worker`). nullopt after saying why on `err`.
std::optional<Json> read_worker_file(const std::string& file, std::ostream& err);

// provisionctl policy explain PATH --worker FILE.json [--json]: explain without any daemon
// config, secrets or state — a policy and a worker record are all it needs.
int cmd_policy_explain(const std::vector<std::string>& args, const std::string& worker_file,
                       bool json, std::ostream& out, std::ostream& err);

// provisionctl explain: evaluates the policy for one worker record (now, every username free)
// and explains the result as text or JSON.
int cmd_explain(const Json& worker_record, const std::filesystem::path& policy_path, bool json,
                std::ostream& out, std::ostream& err);

}  // namespace prov
