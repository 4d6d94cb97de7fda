#pragma once
// Receivers of notifications for tests, started on 127.0.0.1 on ports they pick themselves and
// stopped (their folders removed) when the object dies:
//  - SmtpSink: a real SMTP server (Debian's python3-aiosmtpd, tests/harness/notify/smtp_sink.py)
//    that keeps every message it accepts;
//  - WebhookReceiver: a node server (tests/harness/notify/webhook_receiver.mjs) that checks each
//    delivery with the reference Standard Webhooks library and keeps what it got.
// Start-up failures throw std::runtime_error with the server's output.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "prov/model.h"

namespace prov::testing {

struct ReceivedMail {
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  std::string data;  // the message as received, headers and body
  // The value of header `name` (case-insensitive), "" when absent.
  std::string header(const std::string& name) const;
};

class SmtpSink {
 public:
  // starttls: offer STARTTLS with a certificate made for 127.0.0.1 (ca_file() trusts it) and
  // refuse mail on a session that did not start TLS.
  static std::unique_ptr<SmtpSink> start(bool starttls = false);
  ~SmtpSink();
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // Every message received so far, oldest first.
  std::vector<ReceivedMail> messages() const;
  // The daemon config's notifications: block for this server, polled every 100 ms. `tls_keys`
  // (smtp keys, e.g. ", tls: none"): by default plain SMTP said in as many words (`tls: none`)
  // without starttls, and the server's certificate as ca_file with it. `more`: more lines under
  // notifications:.
  std::string config_yaml(std::optional<std::string> tls_keys = std::nullopt,
                          const std::string& more = "") const;
  const std::string& ca_file() const { return ca_file_; }  // "" without starttls

 private:
  SmtpSink() = default;
  std::string dir_, ca_file_;
  int port_ = 0, pid_ = 0;
};

struct ReceivedWebhook {
  std::string id;  // webhook-id
  bool verified = false;
  std::string error;  // the library's reason when not verified
  Json payload;       // the verified body
};

class WebhookReceiver {
 public:
  static std::unique_ptr<WebhookReceiver> start();
  ~WebhookReceiver();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hooks"; }
  const std::string& secret_file() const { return secret_file_; }  // whsec_… as the sender has it
  std::vector<ReceivedWebhook> received() const;
  // The daemon config's notifications: block with this receiver as the webhook `name`, signing
  // with `secret_file` (default: the receiver's own secret).
  std::string config_yaml(const std::string& name, const std::string& secret_file = "") const;

 private:
  WebhookReceiver() = default;
  std::string dir_, secret_file_;
  int port_ = 0, pid_ = 0;
};

// The repository's example policy with `rules` (items of a list) appended as its
// notifications: section, written to a folder of its own; `edit` (from, to) replaces text of the
// example first. Returns the file's path.
std::string example_policy_with_notifications(const std::string& rules,
                                              std::pair<std::string, std::string> edit = {});

}  // namespace prov::testing
