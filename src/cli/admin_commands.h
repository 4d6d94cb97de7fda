#pragma once
// provisionctl commands that read or decide on the state database.
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/daemon_api.h"
#include "prov/config.h"

namespace prov::cli {

struct Args {
  std::vector<std::string> positional;
  bool json = false;
  bool all = false;
  bool apply = false;  // reconcile --apply
  bool live = false;   // report access --live: read the directories
  std::string worker_id;
  std::string worker_file;
  std::string policy_path;  // --policy: explain without a config; plan: a candidate policy
  std::string since;        // audit export --since TIME
  std::string format;       // audit export --format jsonl|csv; report --format text|csv|json
  std::string group;        // report access --group G
  std::string target;       // report access --target T
  std::string role;         // token new --role viewer|approver|admin
  DaemonAddress daemon;     // --url, --token-file, --ca-file: decide through a remote daemon
  int limit = 50;
};

int status(const Config& c, const Args& a, std::ostream& out);
// Deletes what state.retention lets go (provisionctl compact).
int compact(const Config& c, const Args& a, std::ostream& out);
int plan(const Config& c, const Args& a, std::ostream& out);
int held(const Config& c, const Args& a, std::ostream& out);
int failed(const Config& c, const Args& a, std::ostream& out);
// Decisions go through the running daemon's admin API (cli/daemon_api.h); `c` may be null
// with --url.
int approve(const Config* c, const Args& a, std::ostream& out, std::ostream& err);
int reject(const Config* c, const Args& a, std::ostream& out, std::ostream& err);
int retry(const Config* c, const Args& a, std::ostream& out, std::ostream& err);
int audit(const Config& c, const Args& a, std::ostream& out);
int entitlements(const Config& c, const Args& a, std::ostream& out, std::ostream& err);
int accounts(const Config& c, const Args& a, std::ostream& out);
// Exit 0: the directory matches; 1: drift found (with --apply: handed to the daemon to correct).
int reconcile(const Config& c, const Args& a, std::ostream& out, std::ostream& err);
// report access | report retrieve
int report(const Config& c, const Args& a, std::ostream& out, std::ostream& err);

}  // namespace prov::cli
