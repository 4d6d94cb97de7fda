#pragma once
// The Samba AD domain controller shared by the AD tests of one test run.
//
// Provisioning a DC takes seconds and it needs the fixed ports 389/636, so ctest starts one for
// the whole run (fixture `samba`: tests/harness/samba.sh start <build>/samba) and every test
// process reads <build>/samba/env. A test binary started by hand finds no running DC there and
// starts one itself, stopping it when the process exits.
//
//   const auto& dc = prov::testing::samba();
//   auto connector = prov::make_ad_connector(dc.directory_config());
//
// Every test shares the directory: name accounts with unique_name() so tests never collide.
// Start-up failures throw std::runtime_error with the script's output (test set-up errors).
#include <string>
#include <string_view>

#include "prov/config.h"

namespace prov::testing {

struct SambaInfo {
  std::string ldaps_url;  // ldaps://127.0.0.1:636
  std::string base_dn;    // DC=example,DC=test
  std::string realm;      // EXAMPLE.TEST
  std::string bind_dn;    // the domain administrator
  std::string bind_pw;
  std::string ca_file;  // CA of the DC's certificate (SAN IP:127.0.0.1)
  std::string dir;      // the DC's folder
  int pid = 0;

  // type "ad", LDAPS verified against ca_file, groups in OU=Groups, one-time passwords
  // delivered to <dir>/passwords.
  DirectoryConfig directory_config() const;
};

// The folder of the shared DC: $PROV_SAMBA_DIR, else <build>/samba.
std::string samba_dir();

// The running shared DC (see above). Thread-compatible: call from the test thread.
const SambaInfo& samba();

// The harness script (tests/harness/samba.sh in the source tree).
std::string samba_script();

// A name no other test of this run uses: `prefix` + base-36 process id, clock and counter,
// short enough for a sAMAccountName (prefix of at most 5 characters keeps it within 20).
std::string unique_name(std::string_view prefix);

}  // namespace prov::testing
