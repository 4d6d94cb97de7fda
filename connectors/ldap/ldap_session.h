#pragma once
// One LDAP connection (libldap), shared by every directory connector (OpenLDAP, Active Directory).
// It knows transport, TLS, binding, searching, writing and pipelining; it knows nothing about
// accounts. Connectors decide what a result code means through their own ResultCodeTable.
//
// Values are byte strings: std::string holds binary values (objectGUID, unicodePwd) unchanged.
// Secrets passed to bind()/reconnect() are kept in memory for re-binding and never logged.
//
// Thread safety: none. One Session per thread (the executor owns one connector per thread).
#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prov/config.h"
#include "prov/model.h"
#include "prov/result.h"

struct ldap;  // libldap's LDAP handle; kept out of this header.

namespace prov::ldap {

// The outcome of one LDAP exchange. `code` is the LDAP result code (0 = success) or a negative
// libldap client code (LDAP_SERVER_DOWN = -1, LDAP_TIMEOUT = -5, LDAP_CONNECT_ERROR = -11, ...).
struct LdapResult {
  int code = 0;
  std::string message;     // server diagnostic or libldap error string; never holds secrets
  std::string matched_dn;  // noSuchObject: the deepest existing ancestor, when sent
  bool ok() const { return code == 0; }
  // "ldap:<code>" — the Outcome::code form.
  std::string code_string() const;
  // "<ldap_err2string(code)>: <message>" for logs and Outcome::message.
  std::string describe() const;
};

// Common result codes, so connectors need not include <ldap.h> to compare.
namespace code {
inline constexpr int kSuccess = 0;
inline constexpr int kSizeLimitExceeded = 4;
inline constexpr int kNoSuchAttribute = 16;
inline constexpr int kUndefinedAttributeType = 17;
inline constexpr int kConstraintViolation = 19;
inline constexpr int kAttributeOrValueExists = 20;
inline constexpr int kInvalidAttributeSyntax = 21;
inline constexpr int kNoSuchObject = 32;
inline constexpr int kInvalidDnSyntax = 34;
inline constexpr int kInvalidCredentials = 49;
inline constexpr int kInsufficientAccess = 50;
inline constexpr int kBusy = 51;
inline constexpr int kUnavailable = 52;
inline constexpr int kUnwillingToPerform = 53;
inline constexpr int kNamingViolation = 64;
inline constexpr int kObjectClassViolation = 65;
inline constexpr int kNotAllowedOnNonLeaf = 66;
inline constexpr int kEntryAlreadyExists = 68;
inline constexpr int kOther = 80;
inline constexpr int kServerDown = -1;
inline constexpr int kLocalError = -2;
inline constexpr int kTimeout = -5;
inline constexpr int kConnectError = -11;
}  // namespace code

// Maps result codes to Outcome kinds; one table per connector. Codes not listed get `fallback`.
class ResultCodeTable {
 public:
  ResultCodeTable(std::initializer_list<std::pair<const int, Outcome::Kind>> kinds,
                  Outcome::Kind fallback);
  Outcome::Kind kind(int code) const;
  // Ok for success; otherwise an Outcome with code "ldap:N" and message "<context>: <describe()>".
  Outcome to_outcome(const LdapResult& r, std::string_view context) const;
  // Standard LDAP table: transport failures (server down, connect error, timeout), busy (51) and
  // unavailable (52) are Retryable; everything else is Permanent.
  static const ResultCodeTable& standard();

 private:
  std::map<int, Outcome::Kind> kinds_;
  Outcome::Kind fallback_;
};

// A request or response control. `value` is the BER-encoded control value (may be empty).
struct Control {
  std::string oid;
  std::string value;
  bool critical = false;
};
// AD: modify "add existing value" / "delete missing value" succeed instead of 20/16.
inline constexpr const char* kPermissiveModifyOid = "1.2.840.113556.1.4.1413";
Control permissive_modify_control();

struct Modification {
  enum class Op { Add, Replace, Delete };
  Op op = Op::Replace;
  std::string attr;
  std::vector<std::string> values;  // Delete with no values removes the whole attribute
};

// Attributes of a new entry: name → values (byte strings).
using Attributes = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Orders attribute names case-insensitively (LDAP attribute descriptions are).
struct AttrNameLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

struct Entry {
  std::string dn;
  // Attribute names as the server spelled them (e.g. "givenName"), looked up case-insensitively.
  std::map<std::string, std::vector<std::string>, AttrNameLess> attrs;
  // First value of `attr` (case-insensitive name), or nullopt.
  std::optional<std::string> first(std::string_view attr) const;
  const std::vector<std::string>& values(std::string_view attr) const;  // empty when absent
  bool has(std::string_view attr) const;
};

enum class Scope { Base, OneLevel, Subtree };

struct SearchRequest {
  std::string base;
  Scope scope = Scope::Subtree;
  std::string filter = "(objectClass=*)";  // build values with escape_filter_value()
  std::vector<std::string> attrs;          // empty = all user attributes
  // Non-base searches always send the paged-results control with this page size, so servers
  // with a size limit (slapd: 500 for non-root binds, AD: 1000) return every entry.
  int page_size = 250;
};

struct SearchResult {
  LdapResult result;
  std::vector<Entry> entries;
};

struct SessionOptions {
  std::string url;                           // ldap://host:port or ldaps://host:port (one URL)
  bool start_tls = false;                    // ldap:// + StartTLS
  TlsConfig tls;                             // mode none allows plain ldap:// (logged as a warning)
  std::chrono::milliseconds timeout{10000};  // network + per-operation timeout
  // reconnect(): attempts and the first backoff delay (doubles each attempt, capped at 5 s).
  int reconnect_attempts = 3;
  std::chrono::milliseconds reconnect_backoff{200};
};

// A completed asynchronous request, as returned by collect()/wait().
struct Reply {
  int msgid = 0;
  LdapResult result;
  std::vector<Entry> entries;  // search replies only
};

class Session {
 public:
  // Connects (TLS by default, CA verification on) without binding. Permanent errors (TLS
  // refused, plain ldap:// without StartTLS and tls.mode != "none", bad URL) have
  // retryable=false; unreachable servers retryable=true.
  static Result<std::unique_ptr<Session>> open(const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Simple bind. Remembers dn/password for reconnect(). 49 → result.code == kInvalidCredentials.
  [[nodiscard]] LdapResult bind(const std::string& dn, const std::string& password);

  // Drops the connection and opens + re-binds a new one, retrying with backoff. Outstanding
  // asynchronous requests are lost (their msgids become invalid).
  [[nodiscard]] LdapResult reconnect();
  // True when the last exchange saw a transport failure (server down, timeout, connect error).
  bool broken() const { return broken_; }

  // Synchronous operations. Non-base searches page through every result.
  [[nodiscard]] SearchResult search(const SearchRequest& request);
  // Streams entries page by page; `visit` returning false stops early (result stays success).
  [[nodiscard]] LdapResult search_each(const SearchRequest& request,
                                       const std::function<bool(const Entry&)>& visit);
  [[nodiscard]] LdapResult add(const std::string& dn, const Attributes& attrs,
                               const std::vector<Control>& controls = {});
  [[nodiscard]] LdapResult modify(const std::string& dn, const std::vector<Modification>& mods,
                                  const std::vector<Control>& controls = {});
  // new_superior empty = keep the parent. delete_old_rdn as in RFC 4511.
  [[nodiscard]] LdapResult rename(const std::string& dn, const std::string& new_rdn,
                                  const std::string& new_superior, bool delete_old_rdn = true,
                                  const std::vector<Control>& controls = {});
  [[nodiscard]] LdapResult remove(const std::string& dn, const std::vector<Control>& controls = {});
  // Password Modify extended operation (RFC 3062) as an administrator: sets `dn`'s password to
  // `new_password`, which the server hashes. Only ever call it over an encrypted session
  // (see password_transport()).
  [[nodiscard]] LdapResult set_password(const std::string& dn, const std::string& new_password);

  // Asynchronous submission for pipelining: each returns the msgid, or an LdapResult error when
  // the request could not be sent. Searches submitted here are single requests (no paging):
  // use them for lookups that match at most a few entries.
  Result<int> submit_search(const SearchRequest& request);
  Result<int> submit_add(const std::string& dn, const Attributes& attrs,
                         const std::vector<Control>& controls = {});
  Result<int> submit_modify(const std::string& dn, const std::vector<Modification>& mods,
                            const std::vector<Control>& controls = {});
  Result<int> submit_rename(const std::string& dn, const std::string& new_rdn,
                            const std::string& new_superior, bool delete_old_rdn = true,
                            const std::vector<Control>& controls = {});
  Result<int> submit_remove(const std::string& dn, const std::vector<Control>& controls = {});
  Result<int> submit_password(const std::string& dn, const std::string& new_password);
  // Waits for the next completed request of any msgid. Error when nothing is outstanding, on
  // timeout (retryable) or transport failure (retryable).
  Result<Reply> collect();
  // Waits for the completion of one msgid (other completions stay queued for collect()/wait()).
  Result<Reply> wait(int msgid);
  std::size_t outstanding() const { return outstanding_.size(); }

  const SessionOptions& options() const { return options_; }
  ::ldap* handle() { return ld_; }  // for tests and rare raw calls

 private:
  explicit Session(SessionOptions options);
  LdapResult connect_once();
  LdapResult set_option(int option, const void* value, const char* name);
  LdapResult last_error(int rc);
  Result<Reply> read_reply(int msgid);
  LdapResult search_page(const SearchRequest& request, std::string& cookie,
                         const std::function<bool(const Entry&)>& visit, bool& stop);

  SessionOptions options_;
  ::ldap* ld_ = nullptr;
  // Bounds the TLS handshake of a connection attempt (see connect_once); lives as long as ld_,
  // whose connect callbacks point at it.
  struct ConnectGuard;
  std::unique_ptr<ConnectGuard> guard_;
  std::string bind_dn_;
  std::string bind_password_;
  bool bound_ = false;
  bool broken_ = false;
  std::map<int, std::vector<Entry>> outstanding_;  // msgid → entries collected so far
};

// Whether sessions with these options are encrypted: ldaps://, or ldap:// with StartTLS. Any
// other session is open only with tls.mode "none".
bool encrypted(const SessionOptions& options);
// Ok when passwords may travel on sessions with these options (encrypted ones); otherwise the
// permanent error every connector reports instead of sending a password.
Status password_transport(const SessionOptions& options);

// Builds the canonical error for a transport code: retryable for server down/timeout/connect.
bool is_transport_error(int code);

// Sends the requests `submit` makes for indexes [0, n) on `session`, at most `window` outstanding;
// replies[i] receives request i's reply (or the error that prevented it). Used by connectors to
// overlap operations for different workers on one connection.
void pipeline(Session& session, std::size_t n, std::size_t window,
              const std::function<Result<int>(std::size_t)>& submit,
              std::vector<std::optional<Result<Reply>>>& replies);

}  // namespace prov::ldap
