#include "prov/thread_name.h"

#include <windows.h>

#include <string>

namespace prov {

void name_this_thread(const char* name) {
  // Shown by debuggers and Process Explorer; same names as on Linux. SetThreadDescription is
  // looked up at run time: mingw-w64's headers do not declare it and older Windows lacks it.
  using SetDescription = HRESULT(WINAPI*)(HANDLE, PCWSTR);
  static const auto set = reinterpret_cast<SetDescription>(reinterpret_cast<void*>(
      GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "SetThreadDescription")));
  if (set == nullptr) return;
  const std::wstring wide(name, name + std::char_traits<char>::length(name));
  set(GetCurrentThread(), wide.c_str());
}

}  // namespace prov
