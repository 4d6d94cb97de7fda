#pragma once
// What the tests of provisionctl and provisiond --check-config share: a folder with a config,
// and the tools run as processes, as an admin runs them.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>

namespace prov::test {

// A new folder under /tmp holding provisiond.yaml: state.db in the folder, the example policy,
// a directory that is never contacted, and the secrets named by `webhook_secrets` (the flow
// mapping's secret keys, e.g. "secret_file: webhook.secret") and `bind_file`, relative to it.
inline std::filesystem::path config_folder(const std::string& webhook_secrets,
                                           const std::string& bind_file) {
  char tmpl[] = "/tmp/prov-cli-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return {};
  const std::filesystem::path dir = tmpl;
  std::ofstream(dir / "provisiond.yaml")
      << "state: { path: state.db }\n"
      << "hr:\n  webhook: { listen: 127.0.0.1:8080, " << webhook_secrets << " }\n"
      << "policy: { path: " << PROV_SOURCE_DIR << "/policies/example.yaml }\n"
      << "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
      << "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: " << bind_file << "\n"
      << "  base_dn: dc=example,dc=com\n";
  return dir;
}

// Runs a shell command line; returns its exit status (-1 if it did not exit), stdout and
// stderr together in `out`.
inline int run_command(const std::string& command, std::string* out) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  out->clear();
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out->append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace prov::test
