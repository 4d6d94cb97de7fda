#include "prov/admin_identity.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "prov/crypto.h"
#include "prov/log.h"
#include "prov/model.h"

namespace prov {
namespace fs = std::filesystem;

const char* to_string(Role role) {
  switch (role) {
    case Role::Viewer: return "viewer";
    case Role::Approver: return "approver";
    case Role::Admin: return "admin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "viewer") return Role::Viewer;
  if (text == "approver") return Role::Approver;
  if (text == "admin") return Role::Admin;
  return std::nullopt;
}

std::string user_name(uid_t uid) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(static_cast<std::size_t>(size > 0 ? size : 16384));
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && found->pw_name[0] != '\0')
    return found->pw_name;
  return std::to_string(uid);
}

bool is_token_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
          ch == '-'))
      return false;
  return true;
}

Result<std::vector<ApiToken>> read_api_tokens(const fs::path& file) {
  std::vector<ApiToken> tokens;
  std::ifstream in(file);
  if (!in) {
    if (errno == ENOENT) return tokens;
    return Error{"cannot read " + file.string() + ": " + std::strerror(errno), false};
  }
  std::set<std::string> names;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string at = file.string() + ":" + std::to_string(line_no) + ": ";
    try {
      const Json j = Json::parse(line);
      ApiToken t;
      t.name = j.at("name").get<std::string>();
      const auto role = parse_role(j.at("role").get<std::string>());
      if (!role) return Error{at + "role must be viewer, approver or admin", false};
      t.role = *role;
      t.sha256 = j.at("sha256").get<std::string>();
      if (t.sha256.size() != 64) return Error{at + "sha256 must be 64 hex digits", false};
      if (auto created = parse_time(j.value("created_at", ""))) t.created_at = *created;
      if (!is_token_name(t.name)) return Error{at + "not a token name: " + t.name, false};
      if (!names.insert(t.name).second) return Error{at + "token " + t.name + " twice", false};
      tokens.push_back(std::move(t));
    } catch (const Json::exception& e) {
      return Error{at + "not a token line (" + std::string(e.what()) + ")", false};
    }
  }
  return tokens;
}

Status write_api_tokens(const fs::path& file, const std::vector<ApiToken>& tokens) {
  std::string text;
  for (const auto& t : tokens)
    text += Json{{"name", t.name},
                 {"role", to_string(t.role)},
                 {"sha256", t.sha256},
                 {"created_at", format_time(t.created_at)}}
                .dump() +
            "\n";
  const fs::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot write " + tmp.string() + ": " + std::strerror(errno), false};
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  // As root (installing, or `sudo provisionctl token new`), the file goes to whoever owns its
  // folder: the daemon's user must be able to read it.
  struct stat folder {};
  if (ok && ::geteuid() == 0 && ::stat(file.parent_path().c_str(), &folder) == 0)
    ok = ::fchown(fd, folder.st_uid, folder.st_gid) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return Error{"cannot write " + file.string() + ": " + why, false};
  }
  return Status::Ok();
}

std::string new_api_token() { return "pvd_" + random_hex(32); }

void ApiTokenCheck::reload_if_changed() {
  struct stat st {};
  std::string now_seen = "missing";
  if (::stat(file_.c_str(), &st) == 0)
    now_seen = std::to_string(st.st_ino) + "/" + std::to_string(st.st_size) + "/" +
               std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  if (now_seen == seen_) return;
  seen_ = now_seen;
  auto tokens = read_api_tokens(file_);
  if (!tokens) {
    log::error("admin API tokens unreadable; no token is accepted until it is fixed",
               {{"file", file_.string()}, {"error", tokens.error().message}});
    tokens_.clear();
    return;
  }
  tokens_ = std::move(*tokens);
}

std::optional<ApiToken> ApiTokenCheck::find(std::string_view presented) {
  return find_hash(sha256_hex(presented));
}

std::optional<ApiToken> ApiTokenCheck::find_hash(const std::string& hash) {
  std::lock_guard lock(mu_);
  reload_if_changed();
  std::optional<ApiToken> match;
  // Every entry is compared, and in constant time: how long a refusal takes says nothing.
  for (const auto& t : tokens_)
    if (constant_time_equal(hash, t.sha256) && !match) match = t;
  return match;
}

}  // namespace prov
