#include "ldap/password_drop.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/private_dir.h"

namespace prov::ldap {
namespace {

// Temporary files are ".<worker_id>.password.<random>"; worker ids never start with '.', so no
// delivered file can look like one.
constexpr std::string_view kTempInfix = ".password.";

Status check_worker_id(std::string_view worker_id) {
  if (worker_id.empty() || worker_id.front() == '.' ||
      worker_id.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    return Error{"worker id '" + std::string(worker_id) +
                     "' cannot name a password file (empty, '/', NUL or leading '.')",
                 false};
  }
  return Status::Ok();
}

bool is_temporary(std::string_view name) {
  return name.size() > 1 && name.front() == '.' && name.find(kTempInfix) != std::string_view::npos;
}

std::string errno_text(int err) { return std::strerror(err); }

std::string final_name(std::string_view worker_id) { return std::string(worker_id) + ".password"; }

}  // namespace

std::filesystem::path PasswordDrop::path_for(const std::filesystem::path& dir,
                                             std::string_view worker_id) {
  return dir / final_name(worker_id);
}

PasswordFolder::PasswordFolder(std::filesystem::path dir, int fd)
    : dir_(std::move(dir)), fd_(new int(fd), [](const int* p) {
        ::close(*p);
        delete p;
      }) {}

Result<PasswordFolder> PasswordFolder::open(const std::filesystem::path& dir) {
  if (dir.empty()) return Error{"directory.password_dir is not set", false};
  auto folder = open_private_dir(dir);
  if (!folder.ok()) return Error{"password folder " + folder.error().message, false};
  return PasswordFolder(dir, *folder);
}

Result<PasswordDrop> PasswordDrop::stage(const std::filesystem::path& dir,
                                         std::string_view worker_id, std::string_view password,
                                         Durability durability) {
  if (dir.empty()) return Error{"directory.password_dir is not set", false};
  if (auto s = check_worker_id(worker_id); !s) return s.error();
  auto folder = PasswordFolder::open(dir);
  if (!folder.ok()) return folder.error();
  return stage(*folder, worker_id, password, durability);
}

Result<PasswordDrop> PasswordDrop::stage(const PasswordFolder& folder, std::string_view worker_id,
                                         std::string_view password, Durability durability) {
  if (auto s = check_worker_id(worker_id); !s) return s.error();
  // The suffix only keeps two stagings of one worker apart (O_EXCL refuses a clash): it need
  // not be secret, as nobody but this user can enter the folder.
  static thread_local std::mt19937_64 suffixes{std::random_device{}()};
  std::string temp = ".";
  temp.append(worker_id).append(kTempInfix).append(std::to_string(suffixes()));
  // O_EXCL + O_NOFOLLOW: never write through a link someone planted in the folder.
  const int fd = ::openat(*folder.fd_, temp.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error{"cannot create " + (folder.path() / temp).string() + ": " + errno_text(errno),
                 false};
  }
  // From here the drop owns the file: its destructor removes it unless committed.
  PasswordDrop drop(folder, temp, path_for(folder.path(), worker_id), durability);
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
  if (err != 0)
    return Error{"cannot write " + (folder.path() / temp).string() + ": " + errno_text(err),
                 false};
  return drop;
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

Result<std::size_t> PasswordDrop::remove_stale(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.empty() || !std::filesystem::exists(std::filesystem::symlink_status(dir, ec)))
    return std::size_t{0};
  auto folder = open_private_dir(dir);
  if (!folder.ok()) return Error{"password folder " + folder.error().message, false};
  const int dir_fd = *folder;
  // fdopendir takes its descriptor over; the folder's own stays open for unlinkat and fsync.
  DIR* listing = ::fdopendir(::dup(dir_fd));
  if (listing == nullptr) {
    const int err = errno;
    ::close(dir_fd);
    return Error{"cannot list " + dir.string() + ": " + errno_text(err), false};
  }
  std::size_t removed = 0;
  int err = 0;
  while (const dirent* e = ::readdir(listing)) {
    if (!is_temporary(e->d_name)) continue;
    if (::unlinkat(dir_fd, e->d_name, 0) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      err = errno;
    }
  }
  ::closedir(listing);
  if (removed > 0 && err == 0 && ::fsync(dir_fd) != 0) err = errno;
  ::close(dir_fd);
  if (err != 0)
    return Error{"cannot remove temporary files from " + dir.string() + ": " + errno_text(err),
                 false};
  return removed;
}

void PasswordDrop::withdraw(const std::filesystem::path& dir, std::string_view worker_id) {
  if (dir.empty() || !check_worker_id(worker_id).ok()) return;
  auto folder = open_private_dir(dir);
  if (!folder.ok()) return;
  ::unlinkat(*folder, final_name(worker_id).c_str(), 0);
  ::close(*folder);
}

PasswordDrop::PasswordDrop(PasswordDrop&& other) noexcept
    : dir_(std::move(other.dir_)),
      folder_(std::move(other.folder_)),
      temp_name_(std::move(other.temp_name_)),
      final_(std::move(other.final_)),
      durability_(other.durability_) {
  other.temp_name_.clear();
}

PasswordDrop::~PasswordDrop() {
  if (!temp_name_.empty() && folder_) ::unlinkat(*folder_, temp_name_.c_str(), 0);
}

Status PasswordDrop::commit() {
  if (temp_name_.empty()) return Error{"password file already committed", false};
  const int dir_fd = *folder_;
  const std::string final_file = final_.filename().string();
  if (::renameat(dir_fd, temp_name_.c_str(), dir_fd, final_file.c_str()) != 0) {
    const int err = errno;
    return Error{"cannot move password file into " + final_.string() + ": " + errno_text(err),
                 true};
  }
  temp_name_.clear();
  // A rename is durable only once the folder is: without this a power cut could bring back
  // the older file (or none) after the directory accepted the new password.
  if (durability_ == Durability::Synced && ::fsync(dir_fd) != 0) {
    const int err = errno;
    return Error{"cannot sync " + dir_.string() + ": " + errno_text(err), true};
  }
  return Status::Ok();
}

}  // namespace prov::ldap
