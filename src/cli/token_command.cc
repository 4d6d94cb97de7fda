#include "cli/token_command.h"

#include <algorithm>
#include <iomanip>
#include <ostream>

#include "prov/admin_identity.h"
#include "prov/crypto.h"
#include "prov/model.h"

namespace prov::cli {
namespace {

int token_new(const std::filesystem::path& file, std::vector<ApiToken> tokens,
              const std::string& name, const std::string& role_text, std::ostream& out,
              std::ostream& err) {
  if (!is_token_name(name)) {
    err << "token new: a token name is 1-64 characters of a-z, 0-9, '.', '_' and '-'\n";
    return 2;
  }
  const auto role = parse_role(role_text);
  if (!role) {
    err << "token new: --role must be viewer, approver or admin\n";
    return 2;
  }
  if (std::any_of(tokens.begin(), tokens.end(), [&](const auto& t) { return t.name == name; })) {
    err << "token new: a token named " << name << " exists; revoke it first\n";
    return 1;
  }
  const std::string token = new_api_token();
  tokens.push_back(ApiToken{name, *role, sha256_hex(token), SystemClock().now()});
  if (Status s = write_api_tokens(file, tokens); !s.ok()) {
    err << "token new: " << s.error().message << "\n";
    return 1;
  }
  out << token << "\n";
  err << "token " << name << " (" << to_string(*role) << ") added to " << file.string()
      << "; it is shown only now. Send it as Authorization: Bearer <token>.\n";
  return 0;
}

}  // namespace

int cmd_token(const Config& config, const std::vector<std::string>& args, const std::string& role,
              bool json, std::ostream& out, std::ostream& err) {
  const auto& file = config.admin.tokens_file;
  auto tokens = read_api_tokens(file);
  if (!tokens) {
    err << "token: " << tokens.error().message << "\n";
    return 1;
  }
  const std::string sub = args.empty() ? "" : args[0];
  if (sub == "new" && args.size() == 2) return token_new(file, *tokens, args[1], role, out, err);
  if (sub == "list" && args.size() == 1) {
    Json arr = Json::array();
    for (const auto& t : *tokens) {
      arr.push_back({{"name", t.name},
                     {"role", to_string(t.role)},
                     {"created_at", format_time(t.created_at)}});
      if (!json)
        out << std::left << std::setw(24) << t.name << ' ' << std::setw(9) << to_string(t.role)
            << ' ' << format_time(t.created_at) << "\n";
    }
    if (json) out << arr.dump(2) << "\n";
    if (!json && tokens->empty()) out << "no tokens in " << file.string() << "\n";
    return 0;
  }
  if (sub == "revoke" && args.size() == 2) {
    const auto before = tokens->size();
    std::erase_if(*tokens, [&](const auto& t) { return t.name == args[1]; });
    if (tokens->size() == before) {
      err << "token revoke: no token named " << args[1] << "\n";
      return 1;
    }
    if (Status s = write_api_tokens(file, *tokens); !s.ok()) {
      err << "token revoke: " << s.error().message << "\n";
      return 1;
    }
    out << "revoked " << args[1] << "\n";
    return 0;
  }
  err << "usage: provisionctl token new NAME --role viewer|approver|admin | token list | "
         "token revoke NAME\n";
  return 2;
}

}  // namespace prov::cli
