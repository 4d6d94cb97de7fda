#pragma once
// A folder only this process's user may enter, for files such as one-time passwords. Checked
// at start-up so that a folder another user can read, or a symbolic link someone planted in its
// place, is a clear error before the first password is written rather than a leak after it.
#include <filesystem>
#include <string>

namespace prov {

// Creates `dir` (mode 0700) when it is missing; then requires that it is a real folder (not a
// symbolic link), owned by the effective user, with mode exactly 0700. Throws ConfigError
// "<key>: <problem>" naming the folder.
void require_private_dir(const std::string& key, const std::filesystem::path& dir);

}  // namespace prov
