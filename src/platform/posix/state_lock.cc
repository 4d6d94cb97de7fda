#include "store/state_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "platform/state_lock_parts.h"

namespace prov {
namespace {

pid_t read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  return state_lock_parts::parse_pid(std::string_view(buf, static_cast<std::size_t>(n)));
}

void write_pid(int fd) {
  const std::string pid = std::to_string(getpid()) + "\n";
  // Best effort: the PID only improves the message a second daemon prints.
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t n = pwrite(fd, pid.data(), pid.size(), 0);
  }
}

}  // namespace

StateLock StateLock::acquire(const std::filesystem::path& state_path) {
  const auto path = lock_path(state_path);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    throw StoreError("cannot open the state lock " + path.string() + ": " + std::strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      close(fd);
      throw StoreError("cannot lock " + path.string() + ": " + std::strerror(err));
    }
    const pid_t holder = read_pid(fd);
    close(fd);
    state_lock_parts::throw_in_use(state_path, holder);
  }
  write_pid(fd);
  return StateLock(fd);
}

StateLock::StateLock(StateLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

StateLock::~StateLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace prov
