#pragma once
// Appending evidence to a file so that it is on the disk when the call returns: the audit export
// before retention deletes what it exported, the audit anchors.
#include <filesystem>
#include <string_view>

#include "prov/result.h"

namespace prov {

// Appends `text` to `path` (created 0600 when missing) and syncs it. The error names the file and
// the step that failed (opened, written, synced).
Status append_synced(const std::filesystem::path& path, std::string_view text);

}  // namespace prov
