#pragma once
// Owner-only access on Windows, the counterpart of mode 0700/0600: a protected access list
// (nothing inherited from the parent folder) that grants full control to this process's user
// alone. Used for the private folders and the secret files.
#include <windows.h>

#include <filesystem>
#include <memory>
#include <string>

#include "prov/result.h"

namespace prov {

// This process's user (from its token), e.g. the service's virtual account or gMSA.
class ProcessUser {
 public:
  static Result<ProcessUser> current();
  PSID sid() const { return reinterpret_cast<PSID>(buffer_.get()); }
  std::string name() const;  // DOMAIN\user, or the SID string when it cannot be looked up

 private:
  std::shared_ptr<unsigned char[]> buffer_;
};

// A security descriptor with the owner-only access list; `inherit` makes files and folders
// created inside get the same list.
class OwnerOnlyDescriptor {
 public:
  OwnerOnlyDescriptor(const ProcessUser& user, bool inherit);
  SECURITY_ATTRIBUTES* attributes() { return ok_ ? &attributes_ : nullptr; }
  bool ok() const { return ok_; }

 private:
  std::unique_ptr<unsigned char[]> acl_;
  SECURITY_DESCRIPTOR descriptor_{};
  SECURITY_ATTRIBUTES attributes_{};
  bool ok_ = false;
};

// Empty when `path` is owned by `user` and its access list grants access to `user` (and
// LocalSystem) only, with no entry inherited from the parent folder; otherwise what is wrong, e.g.
// " grants access to BUILTIN\Users".
std::string owner_only_problem(const std::filesystem::path& path, const ProcessUser& user);

}  // namespace prov
