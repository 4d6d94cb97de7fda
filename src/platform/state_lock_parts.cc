#include "platform/state_lock_parts.h"

#include <string>

#include "store/state_lock.h"

namespace prov {

std::filesystem::path StateLock::lock_path(const std::filesystem::path& state_path) {
  return std::filesystem::path(state_path.string() + ".lock");
}

namespace state_lock_parts {

pid_t parse_pid(std::string_view text) {
  try {
    return static_cast<pid_t>(std::stol(std::string(text)));
  } catch (const std::exception&) {
    return 0;
  }
}

void throw_in_use(const std::filesystem::path& state_path, pid_t holder) {
  throw StateInUse("state database " + state_path.string() +
                       " is in use by another provisiond (PID " +
                       (holder > 0 ? std::to_string(holder) : std::string("unknown")) + ", lock " +
                       StateLock::lock_path(state_path).string() +
                       "); only one daemon may run on a state database",
                   holder);
}

}  // namespace state_lock_parts
}  // namespace prov
