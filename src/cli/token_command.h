#pragma once
// provisionctl token: the admin API's named tokens in admin.tokens_file. The file holds each
// token's SHA-256 only; the token itself is printed once, by `new`. The daemon re-reads the file
// when it changes: a new token works and a revoked one stops working at the next request.
#include <iosfwd>
#include <string>
#include <vector>

#include "prov/config.h"

namespace prov::cli {

// token new NAME --role viewer|approver|admin   prints the token (stdout) once
// token list [--json]                           name, role, created
// token revoke NAME
// Exit 0 done, 1 refused or failed, 2 usage.
int cmd_token(const Config& config, const std::vector<std::string>& args, const std::string& role,
              bool json, std::ostream& out, std::ostream& err);

}  // namespace prov::cli
