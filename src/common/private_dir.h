#pragma once
// A folder only this process's user may enter, for files such as one-time passwords. Checked
// at start-up so that a folder another user can read, or a symbolic link someone planted in its
// place, is a clear error before the first password is written rather than a leak after it; and
// checked again by every writer, since the folder may be replaced while the daemon runs.
#include <filesystem>
#include <string>

#include "prov/result.h"

namespace prov {

// Creates `dir` (mode 0700) when it is missing; then requires that it is a real folder (not a
// symbolic link), owned by the effective user, with mode exactly 0700. Returns an open file
// descriptor of that very folder (O_DIRECTORY, close-on-exec; the caller closes it), so that
// files made relative to it (openat, renameat) land in the folder that was checked even if the
// path is swapped afterwards. Error (not retryable): "<dir> <problem>".
Result<int> open_private_dir(const std::filesystem::path& dir);

// open_private_dir for start-up: throws ConfigError "<key>: <dir> <problem>".
void require_private_dir(const std::string& key, const std::filesystem::path& dir);

}  // namespace prov
