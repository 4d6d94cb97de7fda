#pragma once
// Windows error codes as text for messages, like std::strerror for errno.
#include <windows.h>

#include <string>

namespace prov {

// "<system message> (error N)", e.g. "Access is denied. (error 5)".
std::string win_error(DWORD code);

}  // namespace prov
