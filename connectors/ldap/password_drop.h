#pragma once
// Delivery of one-time initial passwords: <password_dir>/<worker_id>.password, mode 0600, written
// so that a reader never sees a half-written file.
//
//   auto staged = PasswordDrop::stage(dir, worker_id, password);   // temp file, 0600
//   staged->commit();   // rename into place       (or just let it go out of scope: discarded)
//
// The folder must be a real folder (not a symbolic link) owned by this process's user with mode
// 0700; it is checked when it is opened — by every stage(dir, …), or once for a batch with
// PasswordFolder — and the files are made relative to the folder that was checked, so a folder
// swapped meanwhile cannot redirect a password.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "prov/result.h"

namespace prov::ldap {

// A password folder checked and opened once for a batch of drops. Each file staged through it
// then costs an openat, a write, a close and a renameat relative to that very folder, instead
// of also walking and checking the folder's path twice: a bulk hire writes thousands of files
// into one folder, and the folder's lock serialises every lane that writes there.
class PasswordFolder {
 public:
  // Creates `dir` (0700) if missing and checks it (see open_private_dir).
  static Result<PasswordFolder> open(const std::filesystem::path& dir);
  const std::filesystem::path& path() const { return dir_; }

 private:
  friend class PasswordDrop;
  PasswordFolder(std::filesystem::path dir, int fd);
  std::filesystem::path dir_;
  std::shared_ptr<const int> fd_;  // closed once the folder and every drop staged in it are gone
};

class PasswordDrop {
 public:
  // Writes `password` to a temporary file in `dir` (created 0700 if missing). Error when
  // `worker_id` cannot be a file name (empty, '/', NUL, leading '.'), the folder fails its
  // check or the file cannot be written. The error message never contains the password.
  // Durability::Deferred skips the per-file fsync and the folder fsync after commit: the caller
  // stages a batch and then calls sync_folder() once before anything depends on the files.
  enum class Durability { Synced, Deferred };
  static Result<PasswordDrop> stage(const std::filesystem::path& dir, std::string_view worker_id,
                                    std::string_view password,
                                    Durability durability = Durability::Synced);
  // The same in a folder opened once for a batch.
  static Result<PasswordDrop> stage(const PasswordFolder& folder, std::string_view worker_id,
                                    std::string_view password,
                                    Durability durability = Durability::Synced);
  // Flushes every file and name staged or committed in `dir` to disk.
  static Status sync_folder(const std::filesystem::path& dir);
  // Removes the temporary files a crash left in `dir` (staged, never committed): they hold
  // passwords nobody was given. Returns how many; 0 when `dir` does not exist. Call once at
  // start-up, before anything stages: a file this process staged meanwhile would go too.
  static Result<std::size_t> remove_stale(const std::filesystem::path& dir);
  // Removes the delivered file of `worker_id`, if any: for a password the directory refused
  // after the file was committed. Best effort (a later delivery replaces the file anyway).
  static void withdraw(const std::filesystem::path& dir, std::string_view worker_id);

  PasswordDrop(PasswordDrop&& other) noexcept;
  PasswordDrop& operator=(PasswordDrop&&) = delete;
  PasswordDrop(const PasswordDrop&) = delete;
  ~PasswordDrop();  // removes the temporary file unless committed

  // Moves the file to its final name, replacing an older delivery for the same worker; with
  // Durability::Synced the rename itself is flushed (fsync of the folder) before this returns.
  Status commit();
  const std::filesystem::path& final_path() const { return final_; }

  // Where the password for `worker_id` is (or would be) delivered.
  static std::filesystem::path path_for(const std::filesystem::path& dir,
                                        std::string_view worker_id);

 private:
  PasswordDrop(const PasswordFolder& folder, std::string temp_name,
               std::filesystem::path final_path, Durability durability)
      : dir_(folder.path()),
        folder_(folder.fd_),
        temp_name_(std::move(temp_name)),
        final_(std::move(final_path)),
        durability_(durability) {}

  // The folder that was checked when the file was staged: commit() renames within it, so the
  // file can only ever be named in the folder it was written to.
  std::filesystem::path dir_;
  std::shared_ptr<const int> folder_;
  std::string temp_name_;  // inside dir_; empty once committed
  std::filesystem::path final_;
  Durability durability_;
};

}  // namespace prov::ldap
