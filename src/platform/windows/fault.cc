#include "prov/fault.h"

#include <windows.h>

#include <cstdlib>
#include <string>

namespace prov {

void fault_point(std::string_view name) {
  static const char* target = std::getenv("PROVISIOND_CRASH_AT");
  // Like _exit(137) on Linux: no destructors, no flushing, as a crash would.
  if (target && name == target) TerminateProcess(GetCurrentProcess(), 137);
}

}  // namespace prov
