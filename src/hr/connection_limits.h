#pragma once
// How many connections a listener holds, in total and per client address. Before a request is
// authenticated anyone who can reach the port can open connections; each costs a descriptor, a
// session and its buffers for up to the request timeout. Bounding them keeps one noisy or hostile
// address from exhausting the process's descriptors or memory and locking the HR system out.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace prov {

class ConnectionLimits : public std::enable_shared_from_this<ConnectionLimits> {
 public:
  // A held place; gives it back when destroyed. Movable, so a session can own it.
  class Slot {
   public:
    Slot() = default;
    Slot(std::shared_ptr<ConnectionLimits> owner, std::string source)
        : owner_(std::move(owner)), source_(std::move(source)) {}
    Slot(Slot&&) noexcept = default;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    void release();
    std::shared_ptr<ConnectionLimits> owner_;
    std::string source_;
  };

  // Values below 1 mean 1: a listener that admits nobody is a configuration mistake.
  static std::shared_ptr<ConnectionLimits> create(int max_total, int max_per_source);

  // A slot for a connection from `source` (its IP address), or an empty Slot over a cap.
  Slot admit(const std::string& source);

  std::size_t open() const;  // connections currently admitted

 private:
  ConnectionLimits(int max_total, int max_per_source)
      : max_total_(max_total), max_per_source_(max_per_source) {}
  void release(const std::string& source);

  const int max_total_;
  const int max_per_source_;
  mutable std::mutex mutex_;
  int total_ = 0;
  std::unordered_map<std::string, int> per_source_;
};

}  // namespace prov
