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

}  // namespace

void require_private_dir(const std::string& key, const std::filesystem::path& dir) {
  const std::string where = key + ": " + dir.string();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) throw ConfigError(where + ": " + std::strerror(errno));
    std::error_code ec;
    std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw ConfigError(where + ": cannot create it: " + std::strerror(errno));
    ::chmod(dir.c_str(), 0700);  // mkdir's mode passes through the umask
    if (::lstat(dir.c_str(), &st) != 0) throw ConfigError(where + ": " + std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode))
    throw ConfigError(where + " is a symbolic link; one-time passwords go only into a real "
                              "folder (a link could lead them anywhere)");
  if (!S_ISDIR(st.st_mode)) throw ConfigError(where + " is not a folder");
  if (st.st_uid != ::geteuid())
    throw ConfigError(where + " is owned by uid " + std::to_string(st.st_uid) +
                      ", not by this process's user (uid " + std::to_string(::geteuid()) + ")");
  if ((st.st_mode & 07777) != 0700)
    throw ConfigError(where + " has mode " + octal(st.st_mode) +
                      "; it must be 0700 (chmod 0700 " + dir.string() + ")");
}

}  // namespace prov
