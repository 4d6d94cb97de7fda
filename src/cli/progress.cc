#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace prov::cli {

Progress::Progress(std::string what) : what_(std::move(what)), terminal_(isatty(STDERR_FILENO)) {}

Progress::~Progress() {
  if (shown_) std::fprintf(stderr, "\r\033[K");
}

void Progress::tick(std::int64_t count) {
  count_ += count;
  if (!terminal_) return;
  const auto now = Clock::now();
  if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::milliseconds(250))
    return;
  last_ = now;
  shown_ = true;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\r\033[K%lld %s (%.0f s)", static_cast<long long>(count_), what_.c_str(),
               seconds);
  std::fflush(stderr);
}

}  // namespace prov::cli
