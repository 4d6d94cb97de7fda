#pragma once
// What both state lock implementations (posix/, windows/) share: reading the holder's PID from
// the lock file and the message a second daemon gets.
#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace prov::state_lock_parts {

// The PID written at the start of the lock file, or 0 when there is none (not written yet).
pid_t parse_pid(std::string_view text);

// Throws StateInUse naming the state database, the holder's PID and the lock file.
[[noreturn]] void throw_in_use(const std::filesystem::path& state_path, pid_t holder);

}  // namespace prov::state_lock_parts
