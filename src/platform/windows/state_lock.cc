// The Windows state lock: LockFileEx on `<state db>.lock`. Like flock on Linux, the lock belongs
// to the open handle and Windows drops it when the process ends, however it ends.
#include <windows.h>
// After windows.h:
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <share.h>
#include <sys/stat.h>

#include <string>

#include "platform/state_lock_parts.h"
#include "platform/windows/win_error.h"
#include "store/state_lock.h"

namespace prov {
namespace {

HANDLE handle_of(int fd) { return reinterpret_cast<HANDLE>(_get_osfhandle(fd)); }

pid_t read_pid(int fd) {
  char buf[32] = {};
  _lseek(fd, 0, SEEK_SET);
  const int n = _read(fd, buf, sizeof buf - 1);
  if (n <= 0) return 0;
  return state_lock_parts::parse_pid(std::string_view(buf, static_cast<std::size_t>(n)));
}

void write_pid(int fd) {
  // Best effort: the PID only improves the message a second daemon prints. The lock covers a
  // byte range far past the PID, so the holder can still write it.
  const std::string pid = std::to_string(_getpid()) + "\n";
  if (_chsize(fd, 0) == 0 && _lseek(fd, 0, SEEK_SET) == 0) {
    [[maybe_unused]] const int n = _write(fd, pid.data(), static_cast<unsigned>(pid.size()));
  }
}

// The locked range: one byte far beyond the PID, so that readers of the PID are not blocked.
constexpr DWORD kLockOffsetHigh = 1;

}  // namespace

StateLock StateLock::acquire(const std::filesystem::path& state_path) {
  const auto path = lock_path(state_path);
  int fd = -1;
  if (_wsopen_s(&fd, path.c_str(), _O_RDWR | _O_CREAT | _O_BINARY | _O_NOINHERIT, _SH_DENYNO,
                _S_IREAD | _S_IWRITE) != 0) {
    throw StoreError("cannot open the state lock " + path.string() + ": " +
                     win_error(GetLastError()));
  }
  OVERLAPPED at{};
  at.OffsetHigh = kLockOffsetHigh;
  if (!LockFileEx(handle_of(fd), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0,
                  &at)) {
    const DWORD err = GetLastError();
    if (err != ERROR_LOCK_VIOLATION && err != ERROR_IO_PENDING) {
      _close(fd);
      throw StoreError("cannot lock " + path.string() + ": " + win_error(err));
    }
    const pid_t holder = read_pid(fd);
    _close(fd);
    throw StateInUse(
        "state database " + state_path.string() + " is in use by another provisiond (PID " +
            (holder > 0 ? std::to_string(holder) : std::string("unknown")) + ", lock " +
            path.string() + "); only one daemon may run on a state database",
        holder);
  }
  write_pid(fd);
  return StateLock(fd);
}

StateLock::StateLock(StateLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

StateLock::~StateLock() {
  if (fd_ >= 0) _close(fd_);  // closing the handle releases the lock
}

}  // namespace prov
