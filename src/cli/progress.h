#pragma once
// Progress on stderr for commands that walk the whole population: shown only on a terminal and
// only once a command has run for a second, so scripts and pipes see nothing and short runs stay
// quiet. One line, rewritten in place, cleared when done.
#include <chrono>
#include <cstdint>
#include <string>

namespace prov::cli {

class Progress {
 public:
  explicit Progress(std::string what);  // "accounts", "workers planned", …
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void tick(std::int64_t count = 1);
  std::int64_t count() const { return count_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_;
  bool terminal_;
  bool shown_ = false;
  std::int64_t count_ = 0;
  Clock::time_point start_ = Clock::now(), last_{};
};

}  // namespace prov::cli
