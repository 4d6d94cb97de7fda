#include "daemon/missing_secrets.h"

namespace prov {

void print_missing_secrets(const std::vector<MissingSecret>& missing, std::ostream& err) {
  if (missing.empty()) return;
  err << "provisiond: " << missing.size() << " secret file(s) missing or unreadable:\n";
  for (const auto& m : missing)
    err << "  " << m.message << "\n"
        << "    create it: " << how_to_create(m) << "\n";
  // Under systemd the files reach the service as credentials (LoadCredential=), read by PID 1:
  // owned by root with mode 0600 is right, and is what provisionctl secret writes.
  err << "  (as root; the files stay root's with mode 0600, systemd passes them to the service)\n";
}

}  // namespace prov
