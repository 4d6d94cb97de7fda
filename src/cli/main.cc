// provisionctl: the admin's view of provisiond's state — validate and test policies, explain a
// worker, preview a plan, decide on held operations, read the audit trail.
#include <fstream>
#include <iostream>

#include "cli/access.h"
#include "cli/admin_commands.h"
#include "cli/notifications_command.h"
#include "cli/policy_commands.h"
#include "cli/secret_command.h"
#include "cli/token_command.h"
#include "prov/config.h"
#include "prov/policy.h"
#include "prov/store.h"

namespace {

constexpr const char* kUsage = R"(usage: provisionctl [--config FILE] COMMAND [options]

commands:
  status                         state database summary
  compact                        delete what state.retention lets go (old applied events and
                                 done operations; the audit only if configured, exported first)
  policy validate PATH           check a policy file or folder (exit 1 on errors); with
                                 --config, also that every target it names is configured
  policy test PATH [--tests DIR] run the policy's test cases
  policy explain PATH --worker FILE.json
                                 why a worker gets what it gets under the policy at PATH —
                                 no config, secrets or state needed
  explain --worker FILE.json     the same with the configured policy (or --worker-id ID for a
                                 stored worker; --policy PATH explains without a config)
  plan [--worker-id ID]          what the current HR state and policy would change (no writes)
  plan --policy CANDIDATE        what deploying the candidate policy would change for every
                                 stored worker, and whether the brake would hold it (no writes)
  accounts                       accounts provisiond manages (one per worker and target)
  held                           operations held by the brake (mass change or policy rules)
  approve ID... | --all          release held operations         } through the running daemon,
  reject ID... | --all           drop held operations            } audited with who you are
  failed                         operations that failed permanently
  retry ID... | --all            re-drive failed operations      }
  audit [--worker-id ID]         the audit trail (newest last)
  audit verify                   walk the audit's hash chain; exit 1 naming the first row that
                                 was changed, removed or inserted
  audit export [--since TIME] [--format jsonl|csv]
                                 the audit for a SIEM, hashes included
  entitlements --worker-id ID    licences and hardware allocated / to retrieve
  report access [--group G | --worker-id ID | --target T] [--format text|csv|json] [--live]
                                 every person's groups per target, the role granting each,
                                 and what an account holds that no role grants; --live reads
                                 what the directories hold now instead of what was applied
  report retrieve [--since TIME] entitlements released by leavers and movers, to retrieve
  notifications [--failed|--pending|--sent]
                                 the notification outbox: what was mailed or posted, what
                                 waits for a retry, what failed and why
  reconcile [--apply]            compare every target with what provisiond applied (exit 1 on
                                 drift); --apply has the running daemon correct the drift
  secret new webhook [FILE]      write a webhook signing key (whsec_..., mode 0600); FILE
                                 defaults to /etc/provisiond/webhook.secret
  secret new bind [FILE]         write a random bind password (/etc/provisiond/bind.secret)
  secret set FILE                write the secret given on stdin (mode 0600)
  token new NAME --role ROLE     a named admin API token (viewer, approver or admin), printed
                                 once; only its SHA-256 is kept, in admin.tokens_file
  token list | token revoke NAME

deciding (approve, reject, retry) asks the running provisiond: over its local socket
(admin.socket; you are who the kernel says), or with --url URL --token-file FILE
[--ca-file PEM] over HTTP(S) as the token's name. See docs/admin-api.md.

options: --json  --limit N  --version  --force (secret: replace an existing file)
config: --config FILE, else $PROVISIOND_CONFIG, else /etc/provisiond/provisiond.yaml
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace prov;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path;
  if (const char* env = std::getenv("PROVISIOND_CONFIG")) config_path = env;
  bool config_given = false;  // --config on the command line
  cli::Args a;
  std::vector<std::string> rest;  // arguments passed through to policy commands
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s == "--version") {
      std::cout << "provisionctl " << PROV_VERSION << "\n";
      return 0;
    } else if (s == "--help" || s == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (s == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
      config_given = true;
    } else if (s == "--json") {
      a.json = true;
      rest.push_back(s);
    } else if (s == "--all") {
      a.all = true;
    } else if (s == "--apply") {
      a.apply = true;
    } else if (s == "--live") {
      a.live = true;
    } else if ((s == "--worker-id" || s == "--worker") && i + 1 < args.size()) {
      (s == "--worker" ? a.worker_file : a.worker_id) = args[++i];
    } else if (s == "--since" && i + 1 < args.size()) {
      a.since = args[++i];
    } else if (s == "--group" && i + 1 < args.size()) {
      a.group = args[++i];
    } else if (s == "--target" && i + 1 < args.size()) {
      a.target = args[++i];
    } else if (s == "--format" && i + 1 < args.size()) {
      a.format = args[++i];
    } else if (s == "--policy" && i + 1 < args.size()) {
      a.policy_path = args[++i];
    } else if (s == "--role" && i + 1 < args.size()) {
      a.role = args[++i];
    } else if (s == "--url" && i + 1 < args.size()) {
      a.daemon.url = args[++i];
    } else if (s == "--token-file" && i + 1 < args.size()) {
      a.daemon.token_file = args[++i];
    } else if (s == "--ca-file" && i + 1 < args.size()) {
      a.daemon.ca_file = args[++i];
    } else if (s == "--limit" && i + 1 < args.size()) {
      a.limit = std::atoi(args[++i].c_str());
    } else {
      a.positional.push_back(s);
      rest.push_back(s);
    }
  }
  if (a.positional.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = a.positional.front();
  a.positional.erase(a.positional.begin());
  rest.erase(std::find(rest.begin(), rest.end(), cmd));

  if (cmd == "policy") {
    if (rest.empty()) {
      std::cerr << "policy: validate or test?\n";
      return 2;
    }
    std::string sub = rest.front();
    rest.erase(rest.begin());
    if (sub == "validate" && config_given) {
      // The config's target names: a role granting in another target is an error.
      try {
        const Config c = load_config(config_path, ConfigSecrets{false, false});
        std::vector<std::string> names;
        for (const auto& t : c.targets) names.push_back(t.name);
        const auto without_folder = targets_without_password_folder(c.targets);
        return cmd_policy_validate(rest, std::cout, std::cerr, &names, &without_folder);
      } catch (const ConfigError& e) {
        std::cerr << "provisionctl: config error: " << e.what() << "\n";
        return 2;
      }
    }
    if (sub == "validate") return cmd_policy_validate(rest, std::cout, std::cerr);
    if (sub == "test") return cmd_policy_test(rest, std::cout, std::cerr);
    if (sub == "explain")
      return cmd_policy_explain(rest, a.worker_file, a.json, std::cout, std::cerr);
    std::cerr << "policy: unknown subcommand " << sub << "\n";
    return 2;
  }
  // Writing a secret file needs no config: it is how a config that names missing files is fixed.
  if (cmd == "secret") return cli::cmd_secret(rest, std::cin, std::cout, std::cerr);
  if (config_path.empty()) config_path = "/etc/provisiond/provisiond.yaml";

  const bool decides = cmd == "approve" || cmd == "reject" || cmd == "retry";
  try {
    // A remote daemon needs no local config: the URL and the token say everything.
    if (decides && !a.daemon.url.empty()) {
      if (cmd == "approve") return cli::approve(nullptr, a, std::cout, std::cerr);
      if (cmd == "reject") return cli::reject(nullptr, a, std::cout, std::cerr);
      return cli::retry(nullptr, a, std::cout, std::cerr);
    }
    if (cmd == "explain" && !a.worker_file.empty()) {
      const auto w = read_worker_file(a.worker_file, std::cerr);
      if (!w) return 2;
      // A worker from a file needs only the policy: given, or the one the config names.
      if (!a.policy_path.empty())
        return cmd_explain(*w, a.policy_path, a.json, std::cout, std::cerr);
      Config c = load_config(config_path, cli::secrets_needed(cmd));
      return cmd_explain(*w, c.policy_path, a.json, std::cout, std::cerr);
    }
    Config c = load_config(config_path, cli::secrets_needed(cmd, a.live));
    if (cmd == "explain") {
      if (a.worker_id.empty()) {
        std::cerr << "explain needs --worker FILE.json or --worker-id ID\n";
        return 2;
      }
      auto store = Store::open_read_only(c.state_path);
      auto w = store->worker(a.worker_id);
      if (!w) {
        std::cerr << "explain: no worker " << a.worker_id << " in " << c.state_path << "\n";
        return 1;
      }
      return cmd_explain(w->record, c.policy_path, a.json, std::cout, std::cerr);
    }
    if (cmd == "status") return cli::status(c, a, std::cout);
    if (cmd == "compact") return cli::compact(c, a, std::cout);
    if (cmd == "plan") return cli::plan(c, a, std::cout);
    if (cmd == "accounts") return cli::accounts(c, a, std::cout);
    if (cmd == "held") return cli::held(c, a, std::cout);
    if (cmd == "failed") return cli::failed(c, a, std::cout);
    if (cmd == "approve") return cli::approve(&c, a, std::cout, std::cerr);
    if (cmd == "reject") return cli::reject(&c, a, std::cout, std::cerr);
    if (cmd == "retry") return cli::retry(&c, a, std::cout, std::cerr);
    if (cmd == "token") return cli::cmd_token(c, a.positional, a.role, a.json, std::cout, std::cerr);
    if (cmd == "audit") return cli::audit(c, a, std::cout);
    if (cmd == "entitlements") return cli::entitlements(c, a, std::cout, std::cerr);
    if (cmd == "reconcile") return cli::reconcile(c, a, std::cout, std::cerr);
    if (cmd == "report") return cli::report(c, a, std::cout, std::cerr);
    if (cmd == "notifications") return cli::notifications(c, a, std::cout, std::cerr);
  } catch (const ConfigError& e) {
    std::cerr << "provisionctl: config error: " << e.what() << "\n";
    return 1;
  } catch (const PolicyLoadError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << "\n";
    return 1;
  } catch (const StoreError& e) {
    std::cerr << "provisionctl: state database: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "provisionctl: unknown command " << cmd << "\n" << kUsage;
  return 2;
}
