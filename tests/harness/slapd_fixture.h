#pragma once
// A real OpenLDAP server for tests, started through tests/harness/slapd.sh on 127.0.0.1 with a
// fresh folder and free ports, stopped (and its folder removed) when the Slapd object dies.
//
//   auto slapd = prov::testing::Slapd::start();          // one per test binary is typical:
//   auto connector = make_ldap_connector(slapd->directory_config());
//
// Start-up failures throw std::runtime_error with the script's output (test set-up errors).
#include <memory>
#include <string>

#include "prov/config.h"

namespace prov::testing {

struct SlapdInfo {
  std::string url;        // ldap://127.0.0.1:PORT
  std::string ldaps_url;  // ldaps://127.0.0.1:PORT2
  std::string base_dn;    // dc=example,dc=com
  std::string root_dn;
  std::string root_pw;
  std::string bind_dn;  // service account with write access (what provisiond binds as)
  std::string bind_pw;
  std::string reader_dn;  // read-only, non-root (size limit 500 applies)
  std::string reader_pw;
  std::string ca_file;  // trust anchor for the server certificate
  std::string dir;      // the server's folder (config, data, certificate)
  int pid = 0;
};

struct SlapdOptions {
  // subjectAltName of the server certificate, e.g. "DNS:other.example.net" to test name checks.
  std::string cert_names = "IP:127.0.0.1,DNS:localhost";
  // Benchmarks: fsync every write as a production server does (tests keep the faster dbnosync).
  bool durable = false;
  // Benchmarks: the settings of a site with big groups (sortvals and mdb multival on member).
  bool big_groups = false;
  // false: a cleartext userPassword is stored as sent (no ppolicy_hash_cleartext), as on most
  // servers; only the Password Modify operation hashes it then.
  bool hash_cleartext = true;
  // 2: the default password policy checks every new password strictly (pwdCheckQuality 2) and so
  // refuses a pre-hashed one.
  int check_quality = 0;
  // GnuTLS priority string for the server's TLS, e.g. "NORMAL:-VERS-ALL:+VERS-TLS1.1".
  std::string tls_priority = "";
  // The base DN (dc=... components only); empty: dc=example,dc=com.
  std::string suffix = "";
};

class Slapd {
 public:
  static std::unique_ptr<Slapd> start(const SlapdOptions& options = {});
  // One server shared by every test of the binary: started on first use, stopped at exit.
  static Slapd& shared();
  ~Slapd();
  Slapd(const Slapd&) = delete;
  Slapd& operator=(const Slapd&) = delete;

  const SlapdInfo& info() const { return info_; }
  // ldaps:// with ca_file, bound as the service account, one-time passwords delivered to
  // <dir>/passwords.
  DirectoryConfig directory_config() const;
  // Stops the server now (the destructor then only removes the folder). For outage tests.
  void stop();

 private:
  Slapd() = default;
  SlapdInfo info_;
  std::string root_;  // temp folder holding dir; removed on destruction
  bool running_ = false;
};

// The harness script's path (tests/harness/slapd.sh in the source tree).
std::string slapd_script();

// Runs `command` through /bin/sh; returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& command, std::string* output);
// `s` as one single-quoted shell word.
std::string shell_quote(const std::string& s);
// The whole content of a file ("" when it cannot be read).
std::string file_text(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace prov::testing
