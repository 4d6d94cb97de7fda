#pragma once
// The web console's pages (docs/console.md): static files compiled into the binary, served
// under /console/ without authentication (they hold no data; everything they show comes from
// the admin API, with the console session's cookie) and with a strict Content-Security-Policy:
// scripts and styles from these files only, nothing inline, no framing.
#include <optional>
#include <string>

#include "prov/http.h"

namespace prov {

// The answer for a GET of `path` under /console, or nullopt when there is no such file.
std::optional<HttpResponse> console_file(const std::string& path);

}  // namespace prov
