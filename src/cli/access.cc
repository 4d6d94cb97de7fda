#include "cli/access.h"

#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace prov::cli {

ConfigSecrets secrets_needed(const std::string& command, bool reads_directories) {
  ConfigSecrets s;
  s.hr = false;  // provisionctl never verifies webhooks nor polls HR sources
  s.directory = command == "reconcile" || reads_directories;
  return s;
}

std::string actor() {
  const uid_t uid = getuid();
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(static_cast<std::size_t>(size > 0 ? size : 16384));
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && found->pw_name[0] != '\0')
    return std::string("provisionctl:") + found->pw_name;
  return "provisionctl:uid " + std::to_string(uid);
}

}  // namespace prov::cli
