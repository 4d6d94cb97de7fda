#pragma once
// provisionctl's way to the running daemon's admin API, for every command that decides: the
// daemon authenticates the caller and audits the decision with that identity. By default the
// local socket (admin.socket), where the kernel names the caller; with --url, HTTP(S) and the
// token in --token-file.
#include <iosfwd>
#include <optional>
#include <string>

#include "prov/config.h"
#include "prov/http_client.h"
#include "prov/model.h"

namespace prov::cli {

struct DaemonAddress {
  std::string url;         // --url, e.g. https://admin.example.com:8081
  std::string token_file;  // --token-file: the bearer token (never on the command line)
  std::string ca_file;     // --ca-file: trust anchors for https
};

// Sends `body` (JSON, or nothing for a GET) to `path` of the daemon. `config` is needed
// without --url (for admin.socket). Prints why on `err` and returns nullopt when the daemon
// cannot be reached or the token file read; any HTTP answer is returned.
std::optional<HttpAnswer> call_daemon(const DaemonAddress& address, const Config* config,
                                      const std::string& method, const std::string& path,
                                      const std::optional<Json>& body, std::ostream& err);

// The `detail` of a problem+json answer, else its status line.
std::string problem_detail(const HttpAnswer& answer);

}  // namespace prov::cli
