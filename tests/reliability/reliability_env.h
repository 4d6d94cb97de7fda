#pragma once
// Sizes of the reliability runs. The defaults are the short versions ctest runs; the long
// versions are the same tests with larger numbers from the environment (docs/operations.md).
#include <cstdlib>
#include <random>
#include <string>

namespace prov::testing {

inline int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::atoi(v);
}

// PROV_RELIABILITY_SEED reproduces a run; otherwise each run draws a new one (and prints it).
inline unsigned reliability_seed() {
  const int fixed = env_int("PROV_RELIABILITY_SEED", 0);
  return fixed != 0 ? static_cast<unsigned>(fixed) : std::random_device{}();
}

// No mass-change brake: these tests terminate many workers on purpose.
inline const char* kNoBrakeYaml =
    "safety: { max_destructive: 1000000, max_destructive_percent: 1000000 }\n";

}  // namespace prov::testing
