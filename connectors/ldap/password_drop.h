#pragma once
// Delivery of one-time initial passwords: <password_dir>/<worker_id>.password, mode 0600, written
// so that a reader never sees a half-written file or a password the directory did not accept.
//
//   auto staged = PasswordDrop::stage(dir, worker_id, password);   // temp file, 0600
//   ... set the password in the directory ...
//   staged->commit();   // rename into place       (or just let it go out of scope: discarded)
#include <filesystem>
#include <string>
#include <string_view>

#include "prov/result.h"

namespace prov::ldap {

class PasswordDrop {
 public:
  // Writes `password` to a temporary file in `dir` (created 0700 if missing). Error when
  // `worker_id` cannot be a file name (empty, '/', NUL, leading '.') or the file cannot be
  // written. The error message never contains the password.
  // Durability::Deferred skips the per-file fsync: the caller stages a batch and then calls
  // sync_folder() once before anything depends on the files.
  enum class Durability { Synced, Deferred };
  static Result<PasswordDrop> stage(const std::filesystem::path& dir, std::string_view worker_id,
                                    std::string_view password,
                                    Durability durability = Durability::Synced);
  // Flushes every file and name staged or committed in `dir` to disk.
  static Status sync_folder(const std::filesystem::path& dir);

  PasswordDrop(PasswordDrop&& other) noexcept;
  PasswordDrop& operator=(PasswordDrop&&) = delete;
  PasswordDrop(const PasswordDrop&) = delete;
  ~PasswordDrop();  // removes the temporary file unless committed

  // Moves the file to its final name, replacing an older delivery for the same worker.
  Status commit();
  const std::filesystem::path& final_path() const { return final_; }

  // Where the password for `worker_id` is (or would be) delivered.
  static std::filesystem::path path_for(const std::filesystem::path& dir,
                                        std::string_view worker_id);

 private:
  PasswordDrop(std::filesystem::path temp, std::filesystem::path final_path)
      : temp_(std::move(temp)), final_(std::move(final_path)) {}
  std::filesystem::path temp_;
  std::filesystem::path final_;
};

}  // namespace prov::ldap
