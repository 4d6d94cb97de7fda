#include "ldap_session.h"

#include <ldap.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <thread>

#include "prov/ascii.h"
#include "prov/log.h"

namespace prov::ldap {
namespace {

struct timeval to_timeval(std::chrono::milliseconds ms) {
  struct timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

berval as_berval(const std::string& s) {
  berval bv;
  bv.bv_len = s.size();
  bv.bv_val = const_cast<char*>(s.data());
  return bv;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ascii_lower(s.substr(0, prefix.size())) == prefix;
}

// Owns the C arrays libldap wants for controls; the strings stay owned by the caller's vector.
class ControlArray {
 public:
  explicit ControlArray(const std::vector<Control>& controls) {
    ctrls_.resize(controls.size());
    for (std::size_t i = 0; i < controls.size(); ++i) {
      ctrls_[i].ldctl_oid = const_cast<char*>(controls[i].oid.c_str());
      // An empty value is sent as an absent value: servers reject a present-but-empty one for
      // controls defined without a value (e.g. permissive modify).
      if (controls[i].value.empty()) {
        ctrls_[i].ldctl_value.bv_len = 0;
        ctrls_[i].ldctl_value.bv_val = nullptr;
      } else {
        ctrls_[i].ldctl_value = as_berval(controls[i].value);
      }
      ctrls_[i].ldctl_iscritical = controls[i].critical ? 1 : 0;
      ptrs_.push_back(&ctrls_[i]);
    }
    ptrs_.push_back(nullptr);
  }
  void push(LDAPControl* extra) { ptrs_.insert(ptrs_.end() - 1, extra); }
  LDAPControl** get() { return ptrs_.size() == 1 ? nullptr : ptrs_.data(); }

 private:
  std::vector<LDAPControl> ctrls_;
  std::vector<LDAPControl*> ptrs_;
};

// Owns LDAPMod arrays built from Modifications / Attributes.
class ModArray {
 public:
  void add(int op, const std::string& attr, const std::vector<std::string>& values) {
    auto& slot = slots_.emplace_back();
    slot.bervals.reserve(values.size());
    for (const auto& v : values) slot.bervals.push_back(as_berval(v));
    for (auto& bv : slot.bervals) slot.ptrs.push_back(&bv);
    slot.ptrs.push_back(nullptr);
    slot.mod.mod_op = op | LDAP_MOD_BVALUES;
    slot.mod.mod_type = const_cast<char*>(attr.c_str());
    slot.mod.mod_bvalues = values.empty() ? nullptr : slot.ptrs.data();
  }
  LDAPMod** get() {
    ptrs_.clear();
    for (auto& s : slots_) ptrs_.push_back(&s.mod);
    ptrs_.push_back(nullptr);
    return ptrs_.data();
  }

 private:
  struct Slot {
    LDAPMod mod{};
    std::vector<berval> bervals;
    std::vector<berval*> ptrs;
  };
  std::deque<Slot> slots_;  // deque: a slot never moves once added, so its pointers stay valid
  std::vector<LDAPMod*> ptrs_;
};

int scope_value(Scope s) {
  switch (s) {
    case Scope::Base:
      return LDAP_SCOPE_BASE;
    case Scope::OneLevel:
      return LDAP_SCOPE_ONELEVEL;
    case Scope::Subtree:
      return LDAP_SCOPE_SUBTREE;
  }
  return LDAP_SCOPE_SUBTREE;
}

Entry parse_entry(LDAP* ld, LDAPMessage* msg) {
  Entry e;
  if (char* dn = ldap_get_dn(ld, msg)) {
    e.dn = dn;
    ldap_memfree(dn);
  }
  BerElement* ber = nullptr;
  for (char* a = ldap_first_attribute(ld, msg, &ber); a != nullptr;
       a = ldap_next_attribute(ld, msg, ber)) {
    auto& values = e.attrs[a];
    if (berval** vals = ldap_get_values_len(ld, msg, a)) {
      for (int i = 0; vals[i] != nullptr; ++i)
        values.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
      ldap_value_free_len(vals);
    }
    ldap_memfree(a);
  }
  if (ber) ber_free(ber, 0);
  return e;
}

// The default priorities without the protocol versions older than TLS 1.2.
constexpr const char* kGnutlsTls12OrLater = "NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1";

// The TLS library libldap was built with: "GnuTLS", "OpenSSL", or empty when unknown.
const std::string& tls_package() {
  static const std::string package = [] {
    char* name = nullptr;
    std::string out;
    if (ldap_get_option(nullptr, LDAP_OPT_X_TLS_PACKAGE, &name) == LDAP_OPT_SUCCESS && name) {
      out = name;
      ldap_memfree(name);
    }
    return out;
  }();
  return package;
}

// True when a TCP connection to the URL's host:port succeeds within `timeout`.
bool tcp_reachable(const std::string& url, std::chrono::milliseconds timeout) {
  LDAPURLDesc* desc = nullptr;
  if (ldap_url_parse(url.c_str(), &desc) != LDAP_SUCCESS || desc == nullptr) return false;
  const std::string host = desc->lud_host ? desc->lud_host : "127.0.0.1";
  const int port =
      desc->lud_port > 0 ? desc->lud_port : (starts_with_ci(url, "ldaps://") ? 636 : 389);
  ldap_free_urldesc(desc);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
  bool ok = false;
  for (addrinfo* ai = res; ai != nullptr && !ok; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
    }
    ::close(fd);
  }
  freeaddrinfo(res);
  return ok;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// LdapResult, ResultCodeTable

std::string LdapResult::code_string() const { return "ldap:" + std::to_string(code); }

std::string LdapResult::describe() const {
  std::string out = ldap_err2string(code);
  if (!message.empty()) out += ": " + message;
  return out;
}

bool is_transport_error(int c) {
  return c == LDAP_SERVER_DOWN || c == LDAP_TIMEOUT || c == LDAP_CONNECT_ERROR;
}

ResultCodeTable::ResultCodeTable(std::initializer_list<std::pair<const int, Outcome::Kind>> kinds,
                                 Outcome::Kind fallback)
    : kinds_(kinds), fallback_(fallback) {}

Outcome::Kind ResultCodeTable::kind(int c) const {
  if (c == LDAP_SUCCESS) return Outcome::Kind::Ok;
  auto it = kinds_.find(c);
  return it == kinds_.end() ? fallback_ : it->second;
}

Outcome ResultCodeTable::to_outcome(const LdapResult& r, std::string_view context) const {
  const Outcome::Kind k = kind(r.code);
  if (k == Outcome::Kind::Ok) return Outcome::ok();
  std::string message(context);
  if (!message.empty()) message += ": ";
  message += r.describe();
  if (k == Outcome::Kind::Retryable) return Outcome::retryable(r.code_string(), message);
  return Outcome::permanent(r.code_string(), message);
}

const ResultCodeTable& ResultCodeTable::standard() {
  static const ResultCodeTable table(
      {
          {LDAP_SERVER_DOWN, Outcome::Kind::Retryable},
          {LDAP_CONNECT_ERROR, Outcome::Kind::Retryable},
          {LDAP_TIMEOUT, Outcome::Kind::Retryable},
          {LDAP_TIMELIMIT_EXCEEDED, Outcome::Kind::Retryable},
          {LDAP_BUSY, Outcome::Kind::Retryable},
          {LDAP_UNAVAILABLE, Outcome::Kind::Retryable},
      },
      Outcome::Kind::Permanent);
  return table;
}

Control permissive_modify_control() { return Control{kPermissiveModifyOid, {}, false}; }

// ---------------------------------------------------------------------------------------------
// Entry

bool AttrNameLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return ascii_lower(x) < ascii_lower(y);
  });
}

std::optional<std::string> Entry::first(std::string_view attr) const {
  auto it = attrs.find(attr);
  if (it == attrs.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

const std::vector<std::string>& Entry::values(std::string_view attr) const {
  static const std::vector<std::string> kNone;
  auto it = attrs.find(attr);
  return it == attrs.end() ? kNone : it->second;
}

bool Entry::has(std::string_view attr) const {
  auto it = attrs.find(attr);
  return it != attrs.end() && !it->second.empty();
}

// ---------------------------------------------------------------------------------------------
// Session: connection

Session::Session(SessionOptions options) : options_(std::move(options)) {}

bool encrypted(const SessionOptions& options) {
  if (starts_with_ci(options.url, "ldaps://")) return true;
  return starts_with_ci(options.url, "ldap://") &&
         (options.start_tls || options.tls.mode == "starttls");
}

Status password_transport(const SessionOptions& options) {
  if (encrypted(options)) return Status::Ok();
  return Error{
      "initial passwords are only sent over TLS (ldaps://, or ldap:// with "
      "start_tls); this connection is not encrypted (tls.mode: none)",
      false};
}

// libldap bounds the TCP connect by LDAP_OPT_NETWORK_TIMEOUT, but not the TLS handshake that
// follows it (ldaps://, StartTLS): against a server that accepts and never answers, the
// handshake retries its non-blocking reads for ever. A guard learns the socket from libldap's
// connect callback and shuts it down once the timeout has passed, so the attempt fails as a
// transport error instead.
struct Session::ConnectGuard {
  std::mutex mu;
  std::condition_variable cv;
  int fd = -1;        // the connection's socket while libldap has it open
  bool done = false;  // the attempt has finished: nothing to cut any more
  bool fired = false;  // the attempt ran out of time and its socket was shut down
  ldap_conncb callbacks{};

  static int on_add(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb* ctx) {
    auto* self = static_cast<ConnectGuard*>(ctx->lc_arg);
    ber_socket_t fd = -1;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1) {
      std::lock_guard l(self->mu);
      self->fd = fd;
    }
    return 0;
  }
  static void on_del(LDAP*, Sockbuf*, ldap_conncb* ctx) {
    auto* self = static_cast<ConnectGuard*>(ctx->lc_arg);
    std::lock_guard l(self->mu);
    self->fd = -1;  // closed: the number may be reused, never shut it down now
  }
  ConnectGuard() {
    callbacks.lc_add = &ConnectGuard::on_add;
    callbacks.lc_del = &ConnectGuard::on_del;
    callbacks.lc_arg = this;
  }
  // Runs `attempt`; if it takes longer than `limit`, the socket is shut down under it.
  template <class F>
  auto bounded(std::chrono::milliseconds limit, F&& attempt) {
    std::thread watchdog([this, limit] {
      std::unique_lock l(mu);
      if (!cv.wait_for(l, limit, [this] { return done; }) && fd >= 0) {
        ::shutdown(fd, SHUT_RDWR);
        fired = true;
      }
    });
    auto result = attempt();
    {
      std::lock_guard l(mu);
      done = true;
    }
    cv.notify_all();
    watchdog.join();
    return result;
  }
};

Session::~Session() {
  if (ld_) ldap_unbind_ext(ld_, nullptr, nullptr);
}

Result<std::unique_ptr<Session>> Session::open(const SessionOptions& options) {
  // A write to a connection the server has closed raises SIGPIPE inside libldap/GnuTLS, which
  // would kill the process instead of returning LDAP_SERVER_DOWN. Nothing in provisiond wants
  // that signal, so it is ignored process-wide once.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  std::unique_ptr<Session> s(new Session(options));
  LdapResult r = s->connect_once();
  if (!r.ok()) {
    // A transport failure while the port accepts TCP connections is a TLS refusal (untrusted
    // certificate, wrong host name): a configuration problem that retrying will not fix.
    // libldap reports both as "can't contact server", so ask the network directly.
    bool retryable = is_transport_error(r.code);
    std::string what = r.describe();
    if (retryable && r.code != LDAP_TIMEOUT && tcp_reachable(options.url, options.timeout)) {
      retryable = false;
      what =
          "TLS handshake refused (certificate not trusted or not valid for the host name): " + what;
    }
    return Error{"ldap connect to " + options.url + ": " + what, retryable};
  }
  return s;
}

LdapResult Session::connect_once() {
  if (ld_) {
    ldap_unbind_ext(ld_, nullptr, nullptr);
    ld_ = nullptr;
  }
  outstanding_.clear();
  broken_ = true;  // until proven otherwise
  const std::string& url = options_.url;
  const bool ldaps = starts_with_ci(url, "ldaps://");
  const bool plain = starts_with_ci(url, "ldap://");
  if (!ldaps && !plain) {
    return {LDAP_PARAM_ERROR, "unsupported URL scheme (want ldap:// or ldaps://)", {}};
  }
  const bool start_tls = plain && encrypted(options_);
  if (plain && !start_tls) {
    if (options_.tls.mode != "none") {
      return {LDAP_PARAM_ERROR,
              "refusing plain ldap:// without StartTLS (set start_tls: true, use ldaps://, or "
              "tls.mode: none to allow an unencrypted connection)",
              {}};
    }
    log::warn("ldap connection is not encrypted (tls.mode: none); credentials travel in clear",
              {{"url", url}});
  }
  if ((ldaps || start_tls) && !options_.tls.verify) {
    log::warn(
        "ldap TLS certificate verification is OFF (tls.verify: false); the connection can "
        "be intercepted",
        {{"url", url}});
  }

  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, url.c_str());
  if (rc != LDAP_SUCCESS || ld == nullptr) {
    return {rc == LDAP_SUCCESS ? LDAP_PARAM_ERROR : rc, "invalid URL " + url, {}};
  }
  ld_ = ld;
  guard_ = std::make_unique<ConnectGuard>();
  // Every option matters: one that silently failed to apply would leave a connection without
  // its timeout, on the wrong protocol version, or with weaker TLS than configured.
  const int version = LDAP_VERSION3;
  struct timeval tv = to_timeval(options_.timeout);
  const struct {
    int option;
    const void* value;
    const char* name;
  } settings[] = {
      {LDAP_OPT_CONNECT_CB, &guard_->callbacks, "connect callback"},
      {LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version"},
      {LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals"},
      {LDAP_OPT_NETWORK_TIMEOUT, &tv, "network timeout"},
      {LDAP_OPT_TIMEOUT, &tv, "timeout"},
      {LDAP_OPT_RESTART, LDAP_OPT_ON, "restart"},
  };
  for (const auto& setting : settings) {
    if (LdapResult r = set_option(setting.option, setting.value, setting.name); !r.ok()) return r;
  }

  if (ldaps || start_tls) {
    const int require = options_.tls.verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
    // TLS 1.0 and 1.1 are deprecated (RFC 8996), yet TLS libraries still speak them by default.
    // libldap honours the protocol minimum only when built with OpenSSL; built with GnuTLS (as
    // on Debian and Ubuntu) it ignores it and takes the versions from the cipher suite, a GnuTLS
    // priority string. Both are set, so the minimum holds with either library.
    const int protocol_min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    if (LdapResult r = set_option(LDAP_OPT_X_TLS_REQUIRE_CERT, &require, "TLS require cert");
        !r.ok())
      return r;
    if (LdapResult r = set_option(LDAP_OPT_X_TLS_PROTOCOL_MIN, &protocol_min, "TLS minimum");
        !r.ok())
      return r;
    if (tls_package() == "GnuTLS") {
      if (LdapResult r =
              set_option(LDAP_OPT_X_TLS_CIPHER_SUITE, kGnutlsTls12OrLater, "TLS cipher suite");
          !r.ok())
        return r;
    }
    if (!options_.tls.ca_file.empty()) {
      if (LdapResult r =
              set_option(LDAP_OPT_X_TLS_CACERTFILE, options_.tls.ca_file.c_str(), "TLS CA file");
          !r.ok())
        return r;
    }
    // libldap reads per-connection TLS options only when a new TLS context is created; without
    // this the process-wide defaults (and no CA file) would silently apply.
    const int is_server = 0;
    if (LdapResult r = set_option(LDAP_OPT_X_TLS_NEWCTX, &is_server, "TLS context"); !r.ok())
      return r;
  }

  // Connect, TLS handshake and StartTLS within one timeout (see ConnectGuard).
  rc = guard_->bounded(options_.timeout, [&] {
    int r = ldap_connect(ld);
    if (r == LDAP_SUCCESS && start_tls) r = ldap_start_tls_s(ld, nullptr, nullptr);
    return r;
  });
  if (rc != LDAP_SUCCESS && guard_->fired) {
    return {LDAP_TIMEOUT,
            "no TLS handshake within " + std::to_string(options_.timeout.count()) +
                " ms: the server accepts connections but does not answer",
            {}};
  }
  if (rc != LDAP_SUCCESS) {
    LdapResult r = last_error(rc);
    if (start_tls) r.message = "StartTLS failed: " + r.message;
    return r;
  }
  broken_ = false;
  bound_ = false;
  return {};
}

LdapResult Session::set_option(int option, const void* value, const char* name) {
  const int rc = ldap_set_option(ld_, option, value);
  if (rc == LDAP_OPT_SUCCESS) return {};
  // LDAP_OPT_ERROR (-1) has the value of LDAP_SERVER_DOWN: reported as a local error instead,
  // which no retry will fix.
  LdapResult r = last_error(LDAP_LOCAL_ERROR);
  r.message = std::string("cannot set the LDAP option '") + name + "'" +
              (r.message.empty() ? "" : ": " + r.message);
  return r;
}

LdapResult Session::last_error(int rc) {
  LdapResult r;
  r.code = rc;
  if (ld_) {
    char* diag = nullptr;
    ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    if (diag) {
      r.message = diag;
      ldap_memfree(diag);
    }
  }
  if (is_transport_error(rc)) broken_ = true;
  return r;
}

LdapResult Session::bind(const std::string& dn, const std::string& password) {
  if (!ld_) return {LDAP_SERVER_DOWN, "not connected", {}};
  berval cred = as_berval(password);
  int msgid = 0;
  int rc = ldap_sasl_bind(ld_, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return last_error(rc);
  outstanding_[msgid];
  auto reply = wait(msgid);
  if (!reply.ok()) return {LDAP_TIMEOUT, reply.error().message, {}};
  if (reply->result.ok()) {
    bind_dn_ = dn;
    bind_password_ = password;
    bound_ = true;
  }
  return reply->result;
}

LdapResult Session::reconnect() {
  auto delay = options_.reconnect_backoff;
  LdapResult r;
  const int attempts = std::max(1, options_.reconnect_attempts);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(delay);  // backoff between attempts against a down server
      delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    }
    r = connect_once();
    if (r.ok() && !bind_dn_.empty()) {
      const std::string dn = bind_dn_, pw = bind_password_;
      r = bind(dn, pw);
    }
    if (r.ok()) return r;
    if (!is_transport_error(r.code)) return r;  // TLS/credentials: backing off will not help
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Session: replies

Result<Reply> Session::read_reply(int msgid) {
  if (!ld_) return Error{"ldap: not connected", true};
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (msgid != LDAP_RES_ANY) {
        ldap_abandon_ext(ld_, msgid, nullptr, nullptr);
        outstanding_.erase(msgid);
      }
      broken_ = true;  // the server state of the request is unknown: start afresh
      return Error{"ldap: timed out waiting for a reply", true};
    }
    struct timeval tv = to_timeval(left);
    LDAPMessage* msg = nullptr;
    const int type = ldap_result(ld_, msgid, LDAP_MSG_ONE, &tv, &msg);
    if (type == 0) continue;  // timeout slice; loop re-checks the deadline
    if (type < 0) {
      int err = LDAP_SERVER_DOWN;
      ldap_get_option(ld_, LDAP_OPT_RESULT_CODE, &err);
      if (msg) ldap_msgfree(msg);
      LdapResult r = last_error(err);
      broken_ = true;
      return Error{"ldap: " + r.describe(), true};
    }
    const int id = ldap_msgid(msg);
    if (type == LDAP_RES_SEARCH_ENTRY) {
      outstanding_[id].push_back(parse_entry(ld_, msg));
      ldap_msgfree(msg);
      continue;
    }
    if (type == LDAP_RES_SEARCH_REFERENCE || type == LDAP_RES_INTERMEDIATE) {
      ldap_msgfree(msg);  // continuation references are not followed
      continue;
    }
    Reply reply;
    reply.msgid = id;
    int err = 0;
    char* matched = nullptr;
    char* text = nullptr;
    const int rc = ldap_parse_result(ld_, msg, &err, &matched, &text, nullptr, nullptr, 1);
    if (rc != LDAP_SUCCESS) err = rc;
    reply.result.code = err;
    if (text) {
      reply.result.message = text;
      ldap_memfree(text);
    }
    if (matched) {
      reply.result.matched_dn = matched;
      ldap_memfree(matched);
    }
    auto it = outstanding_.find(id);
    if (it != outstanding_.end()) {
      reply.entries = std::move(it->second);
      outstanding_.erase(it);
    }
    if (is_transport_error(err)) broken_ = true;
    return reply;
  }
}

Result<Reply> Session::collect() {
  if (outstanding_.empty()) return Error{"ldap: no outstanding request", false};
  return read_reply(LDAP_RES_ANY);
}

Result<Reply> Session::wait(int msgid) { return read_reply(msgid); }

// ---------------------------------------------------------------------------------------------
// Session: asynchronous submission

namespace {
Error submit_error(const LdapResult& r) {
  return Error{"ldap: could not send request: " + r.describe(), is_transport_error(r.code)};
}
}  // namespace

Result<int> Session::submit_search(const SearchRequest& request) {
  if (!ld_) return Error{"ldap: not connected", true};
  std::vector<char*> attrs;
  for (const auto& a : request.attrs) attrs.push_back(const_cast<char*>(a.c_str()));
  attrs.push_back(nullptr);
  int msgid = 0;
  const int rc = ldap_search_ext(
      ld_, request.base.c_str(), scope_value(request.scope), request.filter.c_str(),
      request.attrs.empty() ? nullptr : attrs.data(), 0, nullptr, nullptr, nullptr, 0, &msgid);
  if (rc != LDAP_SUCCESS) return submit_error(last_error(rc));
  outstanding_[msgid];
  return msgid;
}

Result<int> Session::submit_add(const std::string& dn, const Attributes& attrs,
                                const std::vector<Control>& controls) {
  if (!ld_) return Error{"ldap: not connected", true};
  ModArray mods;
  for (const auto& [name, values] : attrs) mods.add(LDAP_MOD_ADD, name, values);
  ControlArray ctrls(controls);
  int msgid = 0;
  const int rc = ldap_add_ext(ld_, dn.c_str(), mods.get(), ctrls.get(), nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return submit_error(last_error(rc));
  outstanding_[msgid];
  return msgid;
}

Result<int> Session::submit_modify(const std::string& dn, const std::vector<Modification>& mods,
                                   const std::vector<Control>& controls) {
  if (!ld_) return Error{"ldap: not connected", true};
  ModArray array;
  for (const auto& m : mods) {
    const int op = m.op == Modification::Op::Add       ? LDAP_MOD_ADD
                   : m.op == Modification::Op::Replace ? LDAP_MOD_REPLACE
                                                       : LDAP_MOD_DELETE;
    array.add(op, m.attr, m.values);
  }
  ControlArray ctrls(controls);
  int msgid = 0;
  const int rc = ldap_modify_ext(ld_, dn.c_str(), array.get(), ctrls.get(), nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return submit_error(last_error(rc));
  outstanding_[msgid];
  return msgid;
}

Result<int> Session::submit_rename(const std::string& dn, const std::string& new_rdn,
                                   const std::string& new_superior, bool delete_old_rdn,
                                   const std::vector<Control>& controls) {
  if (!ld_) return Error{"ldap: not connected", true};
  ControlArray ctrls(controls);
  int msgid = 0;
  const int rc = ldap_rename(ld_, dn.c_str(), new_rdn.c_str(),
                             new_superior.empty() ? nullptr : new_superior.c_str(),
                             delete_old_rdn ? 1 : 0, ctrls.get(), nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return submit_error(last_error(rc));
  outstanding_[msgid];
  return msgid;
}

Result<int> Session::submit_remove(const std::string& dn, const std::vector<Control>& controls) {
  if (!ld_) return Error{"ldap: not connected", true};
  ControlArray ctrls(controls);
  int msgid = 0;
  const int rc = ldap_delete_ext(ld_, dn.c_str(), ctrls.get(), nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return submit_error(last_error(rc));
  outstanding_[msgid];
  return msgid;
}

Result<int> Session::submit_password(const std::string& dn, const std::string& new_password) {
  if (!ld_) return Error{"ldap: not connected", true};
  // RFC 3062 without the old password: an administrative reset, which the server hashes with
  // its own scheme (slapd: password-hash) and checks against its password policy.
  berval user = as_berval(dn);
  berval password = as_berval(new_password);
  int msgid = 0;
  const int rc = ldap_passwd(ld_, &user, nullptr, &password, nullptr, nullptr, &msgid);
  if (rc != LDAP_SUCCESS) return submit_error(last_error(rc));
  outstanding_[msgid];
  return msgid;
}

// ---------------------------------------------------------------------------------------------
// Session: synchronous operations

namespace {
LdapResult finish(Session& s, Result<int> submitted) {
  if (!submitted.ok()) {
    return {submitted.error().retryable ? LDAP_SERVER_DOWN : LDAP_LOCAL_ERROR,
            submitted.error().message,
            {}};
  }
  auto reply = s.wait(*submitted);
  if (!reply.ok()) return {LDAP_TIMEOUT, reply.error().message, {}};
  return reply->result;
}
}  // namespace

LdapResult Session::add(const std::string& dn, const Attributes& attrs,
                        const std::vector<Control>& controls) {
  return finish(*this, submit_add(dn, attrs, controls));
}

LdapResult Session::modify(const std::string& dn, const std::vector<Modification>& mods,
                           const std::vector<Control>& controls) {
  return finish(*this, submit_modify(dn, mods, controls));
}

LdapResult Session::rename(const std::string& dn, const std::string& new_rdn,
                           const std::string& new_superior, bool delete_old_rdn,
                           const std::vector<Control>& controls) {
  return finish(*this, submit_rename(dn, new_rdn, new_superior, delete_old_rdn, controls));
}

LdapResult Session::remove(const std::string& dn, const std::vector<Control>& controls) {
  return finish(*this, submit_remove(dn, controls));
}

LdapResult Session::set_password(const std::string& dn, const std::string& new_password) {
  return finish(*this, submit_password(dn, new_password));
}

SearchResult Session::search(const SearchRequest& request) {
  SearchResult out;
  out.result = search_each(request, [&](const Entry& e) {
    out.entries.push_back(e);
    return true;
  });
  return out;
}

LdapResult Session::search_page(const SearchRequest& request, std::string& cookie,
                                const std::function<bool(const Entry&)>& visit, bool& stop) {
  std::vector<char*> attrs;
  for (const auto& a : request.attrs) attrs.push_back(const_cast<char*>(a.c_str()));
  attrs.push_back(nullptr);

  const bool paged = request.scope != Scope::Base;
  LDAPControl* page_ctrl = nullptr;
  ControlArray ctrls({});
  if (paged) {
    berval cookie_bv = as_berval(cookie);
    const int rc = ldap_create_page_control(ld_, static_cast<ber_int_t>(request.page_size),
                                            cookie.empty() ? nullptr : &cookie_bv, 0, &page_ctrl);
    if (rc != LDAP_SUCCESS) return last_error(rc);
    ctrls.push(page_ctrl);
  }
  int msgid = 0;
  int rc = ldap_search_ext(ld_, request.base.c_str(), scope_value(request.scope),
                           request.filter.c_str(), request.attrs.empty() ? nullptr : attrs.data(),
                           0, ctrls.get(), nullptr, nullptr, 0, &msgid);
  if (page_ctrl) ldap_control_free(page_ctrl);
  if (rc != LDAP_SUCCESS) return last_error(rc);

  cookie.clear();
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ldap_abandon_ext(ld_, msgid, nullptr, nullptr);
      broken_ = true;
      return {LDAP_TIMEOUT, "timed out waiting for search results", {}};
    }
    struct timeval tv = to_timeval(left);
    LDAPMessage* msg = nullptr;
    const int type = ldap_result(ld_, msgid, LDAP_MSG_ONE, &tv, &msg);
    if (type == 0) continue;
    if (type < 0) {
      int err = LDAP_SERVER_DOWN;
      ldap_get_option(ld_, LDAP_OPT_RESULT_CODE, &err);
      if (msg) ldap_msgfree(msg);
      broken_ = true;
      return last_error(err);
    }
    if (type == LDAP_RES_SEARCH_ENTRY) {
      if (!stop && !visit(parse_entry(ld_, msg))) stop = true;
      ldap_msgfree(msg);
      continue;
    }
    if (type != LDAP_RES_SEARCH_RESULT) {
      ldap_msgfree(msg);
      continue;
    }
    LdapResult r;
    int err = 0;
    char* text = nullptr;
    char* matched = nullptr;
    LDAPControl** server_ctrls = nullptr;
    rc = ldap_parse_result(ld_, msg, &err, &matched, &text, nullptr, &server_ctrls, 1);
    r.code = rc == LDAP_SUCCESS ? err : rc;
    if (text) {
      r.message = text;
      ldap_memfree(text);
    }
    if (matched) {
      r.matched_dn = matched;
      ldap_memfree(matched);
    }
    if (server_ctrls) {
      if (LDAPControl* c = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, server_ctrls, nullptr)) {
        ber_int_t estimate = 0;
        berval next{0, nullptr};
        if (ldap_parse_pageresponse_control(ld_, c, &estimate, &next) == LDAP_SUCCESS &&
            next.bv_val != nullptr) {
          cookie.assign(next.bv_val, next.bv_len);
          ber_memfree(next.bv_val);
        }
      }
      ldap_controls_free(server_ctrls);
    }
    if (stop && !cookie.empty()) {
      // Tell the server we are done with this paged search (RFC 2696: size 0 + cookie).
      berval cookie_bv = as_berval(cookie);
      LDAPControl* abandon = nullptr;
      if (ldap_create_page_control(ld_, 0, &cookie_bv, 0, &abandon) == LDAP_SUCCESS) {
        LDAPControl* list[] = {abandon, nullptr};
        int id = 0;
        if (ldap_search_ext(ld_, request.base.c_str(), scope_value(request.scope),
                            request.filter.c_str(), nullptr, 1, list, nullptr, nullptr, 0,
                            &id) == LDAP_SUCCESS) {
          struct timeval t2 = to_timeval(options_.timeout);
          LDAPMessage* done = nullptr;
          if (ldap_result(ld_, id, LDAP_MSG_ALL, &t2, &done) > 0) ldap_msgfree(done);
        }
        ldap_control_free(abandon);
      }
      cookie.clear();
    }
    if (is_transport_error(r.code)) broken_ = true;
    return r;
  }
}

LdapResult Session::search_each(const SearchRequest& request,
                                const std::function<bool(const Entry&)>& visit) {
  if (!ld_) return {LDAP_SERVER_DOWN, "not connected", {}};
  std::string cookie;
  bool stop = false;
  do {
    LdapResult r = search_page(request, cookie, visit, stop);
    if (!r.ok()) return r;
  } while (!cookie.empty() && !stop);
  return {};
}

void pipeline(Session& session, std::size_t n, std::size_t window,
              const std::function<Result<int>(std::size_t)>& submit,
              std::vector<std::optional<Result<Reply>>>& replies) {
  replies.assign(n, std::nullopt);
  if (window == 0) window = 1;
  std::map<int, std::size_t> index_of;  // msgid → request index
  std::size_t next = 0;
  while (next < n || !index_of.empty()) {
    while (next < n && index_of.size() < window) {
      Result<int> id = submit(next);
      if (id.ok()) {
        index_of[*id] = next;
      } else {
        replies[next] = Result<Reply>(id.error());
      }
      ++next;
    }
    if (index_of.empty()) continue;
    Result<Reply> reply = session.collect();
    if (!reply.ok()) {
      // The connection failed: everything still in flight shares that error.
      for (const auto& [id, i] : index_of) replies[i] = Result<Reply>(reply.error());
      index_of.clear();
      continue;
    }
    auto it = index_of.find(reply->msgid);
    if (it == index_of.end()) continue;  // not ours (cannot happen on a private session)
    replies[it->second] = std::move(reply);
    index_of.erase(it);
  }
}

}  // namespace prov::ldap
