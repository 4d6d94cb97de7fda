#pragma once
// Crash-injection points for the reliability tests. With PROV_FAULT_INJECTION compiled in, setting
// PROVISIOND_CRASH_AT=<name> makes the process die (_exit(137), as kill -9 would leave things) the
// first time it passes the point of that name. Without the define the macro compiles to nothing.
#include <string_view>

namespace prov {
void fault_point(std::string_view name);
}

#if defined(PROV_FAULT_INJECTION)
#define PROV_FAULT_POINT(name) ::prov::fault_point(name)
#else
#define PROV_FAULT_POINT(name) ((void)0)
#endif
