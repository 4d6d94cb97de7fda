#include "ldap/password_drop.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace prov::ldap {
namespace {

Status check_worker_id(std::string_view worker_id) {
  if (worker_id.empty() || worker_id.front() == '.' ||
      worker_id.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    return Error{"worker id '" + std::string(worker_id) +
                     "' cannot name a password file (empty, '/', NUL or leading '.')",
                 false};
  }
  return Status::Ok();
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

std::filesystem::path PasswordDrop::path_for(const std::filesystem::path& dir,
                                             std::string_view worker_id) {
  return dir / (std::string(worker_id) + ".password");
}

Result<PasswordDrop> PasswordDrop::stage(const std::filesystem::path& dir,
                                         std::string_view worker_id, std::string_view password,
                                         Durability durability) {
  if (dir.empty()) return Error{"directory.password_dir is not set", false};
  if (auto s = check_worker_id(worker_id); !s) return s.error();
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error{"cannot create " + dir.string() + ": " + ec.message(), false};
    ::chmod(dir.c_str(), 0700);
  }
  std::random_device rd;
  const auto temp = dir / ("." + std::string(worker_id) + ".password." + std::to_string(rd()));
  // O_EXCL + O_NOFOLLOW: never write through a link someone planted in the folder.
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot create " + temp.string() + ": " + errno_text(errno), false};
  std::string content(password);
  content.push_back('\n');
  std::size_t done = 0;
  int err = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err == 0 && durability == Durability::Synced && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  std::fill(content.begin(), content.end(), '\0');
  if (err != 0) {
    ::unlink(temp.c_str());
    return Error{"cannot write " + temp.string() + ": " + errno_text(err), false};
  }
  return PasswordDrop(temp, path_for(dir, worker_id));
}

Status PasswordDrop::sync_folder(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open " + dir.string() + ": " + errno_text(errno), false};
  // syncfs: every file staged into this folder's file system, and the folder's own entries, in
  // one flush instead of one per file.
  const int rc = ::syncfs(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Error{"cannot sync " + dir.string() + ": " + errno_text(err), false};
  return Status::Ok();
}

PasswordDrop::PasswordDrop(PasswordDrop&& other) noexcept
    : temp_(std::move(other.temp_)), final_(std::move(other.final_)) {
  other.temp_.clear();
}

PasswordDrop::~PasswordDrop() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

Status PasswordDrop::commit() {
  if (temp_.empty()) return Error{"password file already committed", false};
  if (::rename(temp_.c_str(), final_.c_str()) != 0) {
    return Error{"cannot move password file into " + final_.string() + ": " + errno_text(errno),
                 true};
  }
  temp_.clear();
  return Status::Ok();
}

}  // namespace prov::ldap
