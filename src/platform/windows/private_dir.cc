// Windows: the private folder is one whose protected access list grants this process's user
// alone (owner_only_acl.h), the counterpart of a 0700 folder owned by the service user.
#include "common/private_dir.h"

#include <windows.h>

#include "platform/windows/owner_only_acl.h"
#include "platform/windows/win_error.h"
#include "prov/config.h"

namespace prov {
namespace {

Error problem(const std::filesystem::path& dir, const std::string& what) {
  return Error{dir.string() + what, false};
}

}  // namespace

Result<int> open_private_dir(const std::filesystem::path& dir) {
  auto user = ProcessUser::current();
  if (!user.ok()) return user.error();
  DWORD attrs = GetFileAttributesW(dir.c_str());
  if (attrs == INVALID_FILE_ATTRIBUTES) {
    const DWORD err = GetLastError();
    if (err != ERROR_FILE_NOT_FOUND && err != ERROR_PATH_NOT_FOUND)
      return problem(dir, ": " + win_error(err));
    std::error_code ec;
    std::filesystem::create_directories(dir.parent_path(), ec);
    OwnerOnlyDescriptor owner_only(*user, /*inherit=*/true);
    if (!owner_only.ok() || (!CreateDirectoryW(dir.c_str(), owner_only.attributes()) &&
                             GetLastError() != ERROR_ALREADY_EXISTS))
      return problem(dir, ": cannot create it: " + win_error(GetLastError()));
    attrs = GetFileAttributesW(dir.c_str());
  }
  if (attrs & FILE_ATTRIBUTE_REPARSE_POINT)
    return problem(dir,
                   " is a link or junction; one-time passwords go only into a real folder (a "
                   "link could lead them anywhere)");
  if (!(attrs & FILE_ATTRIBUTE_DIRECTORY)) return problem(dir, " is not a folder");
  if (std::string p = owner_only_problem(dir, *user); !p.empty()) return problem(dir, p);
  // No descriptor on Windows: callers there work with the checked path.
  return 0;
}

void require_private_dir(const std::string& key, const std::filesystem::path& dir) {
  auto checked = open_private_dir(dir);
  if (!checked.ok()) throw ConfigError(key + ": " + checked.error().message);
}

}  // namespace prov
