#pragma once
// Who may use the admin API, and as whom they are audited: named API tokens (stored as SHA-256
// hashes in admin.tokens_file, shown in clear once, when made) and the users of the local admin
// socket. Roles are ordered: each can do what the ones below it can.
#include <sys/types.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prov/clock.h"
#include "prov/result.h"

namespace prov {

enum class Role {
  Viewer = 1,    // reads: status, queues, workers, explain, plan, held, failed, audit
  Approver = 2,  // + approve / reject held operations, retry failed ones
  Admin = 3,     // + reconcile and whatever changes the daemon's own state
};
const char* to_string(Role role);
std::optional<Role> parse_role(std::string_view text);

// An authenticated caller: `name` is what the audit records ("token:ci-bot", "uid:alice").
struct Identity {
  std::string name;
  Role role = Role::Viewer;
};

// The login name of `uid` from the password database, or its number when it has none.
std::string user_name(uid_t uid);

struct ApiToken {
  std::string name;    // [a-z0-9._-], 1-64 characters, unique in the file
  Role role = Role::Viewer;
  std::string sha256;  // hex SHA-256 of the token; the token itself is never stored
  TimePoint created_at{};
};

bool is_token_name(std::string_view name);

// The tokens file: one JSON object per line. A missing file holds no tokens. Errors name the
// file and the line.
Result<std::vector<ApiToken>> read_api_tokens(const std::filesystem::path& file);
// Replaces the file atomically (written beside it, synced, renamed), mode 0600. When root
// writes it, it is given to the owner of its folder, so a daemon running as that user reads it.
Status write_api_tokens(const std::filesystem::path& file, const std::vector<ApiToken>& tokens);
// A new token: "pvd_" and 64 hex digits of randomness (256 bits); the prefix lets secret
// scanners recognise a leaked one.
std::string new_api_token();

// The daemon's view of the tokens file: re-read whenever the file changes (so a revoke takes
// effect at the next request), compared in constant time. Thread-safe.
class ApiTokenCheck {
 public:
  explicit ApiTokenCheck(std::filesystem::path file) : file_(std::move(file)) {}
  // The token `presented` belongs to, if any. An unreadable file matches nothing (and is
  // logged once per change).
  std::optional<ApiToken> find(std::string_view presented);
  // The same by the token's SHA-256 (hex): a console session made with a token ends with it.
  std::optional<ApiToken> find_hash(const std::string& sha256);

 private:
  void reload_if_changed();
  std::filesystem::path file_;
  std::mutex mu_;
  std::vector<ApiToken> tokens_;
  std::string seen_;  // what the file looked like when last read (inode, size, mtime)
};

}  // namespace prov
