#include "prov/durable_file.h"

#include <windows.h>

#include <string>

#include "platform/windows/win_error.h"

namespace prov {

Status append_synced(const std::filesystem::path& path, std::string_view text) {
  const auto failed = [&](const char* step, DWORD err) {
    return Status(Error{path.string() + " cannot be " + step + ": " + win_error(err), false});
  };
  // A new file inherits the folder's access list; the state folder is the service's own.
  HANDLE h = CreateFileW(path.c_str(), FILE_APPEND_DATA, FILE_SHARE_READ, nullptr, OPEN_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return failed("opened", GetLastError());
  std::size_t written = 0;
  while (written < text.size()) {
    DWORD n = 0;
    if (!WriteFile(h, text.data() + written, static_cast<DWORD>(text.size() - written), &n,
                   nullptr)) {
      const DWORD err = GetLastError();
      CloseHandle(h);
      return failed("written", err);
    }
    written += n;
  }
  // FlushFileBuffers is Windows' fsync: data and metadata reach the disk before it returns.
  if (!FlushFileBuffers(h)) {
    const DWORD err = GetLastError();
    CloseHandle(h);
    return failed("synced", err);
  }
  CloseHandle(h);
  return Status::Ok();
}

}  // namespace prov
