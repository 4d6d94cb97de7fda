#pragma once
// The web console's files (src/admin/web/), compiled into the binary by cmake/embed_assets.cmake.
#include <string_view>
#include <vector>

namespace prov {

struct ConsoleAsset {
  std::string_view path;  // "/index.html", relative to src/admin/web
  std::string_view content;
};

const std::vector<ConsoleAsset>& console_assets();

}  // namespace prov
