#include "cli/access.h"

#include <unistd.h>

#include "prov/admin_identity.h"

namespace prov::cli {

ConfigSecrets secrets_needed(const std::string& command, bool reads_directories) {
  ConfigSecrets s;
  s.hr = false;  // provisionctl never verifies webhooks nor polls HR sources
  s.directory = command == "reconcile" || reads_directories;
  return s;
}

std::string actor() { return "provisionctl:" + user_name(getuid()); }

}  // namespace prov::cli
