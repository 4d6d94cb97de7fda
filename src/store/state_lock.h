#pragma once
// One daemon per state database. Two provisiond processes on the same state would both plan and
// execute the outbox, sending every operation twice and racing each other's retries, so the
// daemon holds an exclusive flock on `<state db>.lock` for as long as it runs and writes its PID
// into it. provisionctl does not take the lock: WAL lets it read and decide beside the daemon.
//
// flock (not fcntl) because it belongs to the open file: the kernel drops it when the process
// dies, even by kill -9, so a crash never leaves a stale lock behind; the PID in the file is only
// there for the message.
#include <sys/types.h>

#include <filesystem>

#include "prov/store.h"

namespace prov {

// Thrown when another process holds the lock; what() names the state database and that PID.
class StateInUse : public StoreError {
 public:
  StateInUse(const std::string& message, pid_t holder) : StoreError(message), holder_(holder) {}
  pid_t holder() const { return holder_; }  // 0 when the holder had not written it yet

 private:
  pid_t holder_;
};

class StateLock {
 public:
  // Takes the lock for `state_path` or throws StateInUse (held elsewhere) / StoreError (the lock
  // file cannot be created).
  static StateLock acquire(const std::filesystem::path& state_path);

  StateLock(StateLock&& other) noexcept;
  StateLock& operator=(StateLock&&) = delete;
  StateLock(const StateLock&) = delete;
  ~StateLock();  // releases the lock; the file stays, holding the last PID

  static std::filesystem::path lock_path(const std::filesystem::path& state_path);

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace prov
