#pragma once
// A policy written to a temporary folder, and a state database beside it.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "prov/notify.h"
#include "prov/policy.h"
#include "store_fixture.h"

namespace prov::testing {

// The smallest valid policy, followed by `extra` (a notifications: section).
inline std::string policy_with(const std::string& extra) {
  return "version: 1\n"
         "attributes:\n"
         "  mail: \"{{ username }}@example.com\"\n"
         "username:\n"
         "  candidates: [\"{{ worker.firstName | lower }}{{ n }}\"]\n" +
         extra;
}

inline std::filesystem::path write_file(const std::filesystem::path& path,
                                        const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace prov::testing
