#include "prov/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace prov {

Status append_synced(const std::filesystem::path& path, std::string_view text) {
  const auto failed = [&](const char* step, int err) {
    return Status(Error{path.string() + " cannot be " + step + ": " + std::strerror(err), false});
  };
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return failed("opened", errno);
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return failed("written", err);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return failed("synced", err);
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace prov
