#include <windows.h>

#include <string>

#include "prov/thread_name.h"

namespace prov {

void name_this_thread(const char* name) {
  // Shown by debuggers and Process Explorer; same names as on Linux, no 15-character limit.
  std::wstring wide(name, name + std::char_traits<char>::length(name));
  SetThreadDescription(GetCurrentThread(), wide.c_str());
}

}  // namespace prov
