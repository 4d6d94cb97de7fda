#include "common/private_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "prov/config.h"

namespace prov {
namespace {

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Error problem(const std::filesystem::path& dir, const std::string& what) {
  return Error{dir.string() + what, false};
}

// What is wrong with the folder `st` describes, if anything.
Status check(const std::filesystem::path& dir, const struct stat& st) {
  if (S_ISLNK(st.st_mode))
    return problem(dir,
                   " is a symbolic link; one-time passwords go only into a real folder (a "
                   "link could lead them anywhere)");
  if (!S_ISDIR(st.st_mode)) return problem(dir, " is not a folder");
  if (st.st_uid != ::geteuid())
    return problem(dir, " is owned by uid " + std::to_string(st.st_uid) +
                            ", not by this process's user (uid " + std::to_string(::geteuid()) +
                            ")");
  if ((st.st_mode & 07777) != 0700)
    return problem(dir, " has mode " + octal(st.st_mode) + "; it must be 0700 (chmod 0700 " +
                            dir.string() + ")");
  return Status::Ok();
}

}  // namespace

Result<int> open_private_dir(const std::filesystem::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return problem(dir, std::string(": ") + std::strerror(errno));
    std::error_code ec;
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return problem(dir, std::string(": cannot create it: ") + std::strerror(errno));
    ::chmod(dir.c_str(), 0700);  // mkdir's mode passes through the umask
    if (::lstat(dir.c_str(), &st) != 0)
      return problem(dir, std::string(": ") + std::strerror(errno));
  }
  if (Status s = check(dir, st); !s.ok()) return s.error();
  // O_NOFOLLOW: a link swapped in since the lstat is refused, not followed; the fstat then
  // checks what was really opened.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return problem(dir, std::string(": cannot open it: ") + std::strerror(errno));
  struct stat opened {};
  Status s = ::fstat(fd, &opened) != 0 ? problem(dir, std::string(": ") + std::strerror(errno))
             : opened.st_dev != st.st_dev || opened.st_ino != st.st_ino
                 ? problem(dir, " was replaced while it was checked")
                 : check(dir, opened);
  if (!s.ok()) {
    ::close(fd);
    return s.error();
  }
  return fd;
}

void require_private_dir(const std::string& key, const std::filesystem::path& dir) {
  auto fd = open_private_dir(dir);
  if (!fd.ok()) throw ConfigError(key + ": " + fd.error().message);
  ::close(*fd);
}

}  // namespace prov
