// Mail through libcurl's SMTP: STARTTLS required (or implicit TLS with smtps://) and the
// server's certificate checked, unless the config says tls: none in as many words.
#include <algorithm>
#include <cstring>
#include <ctime>

#include "notify/curl_call.h"
#include "notify/delivery.h"
#include "prov/crypto.h"

namespace prov::notify {
namespace {

bool ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// RFC 2047: a subject with non-ASCII characters (a name with diacritics) as UTF-8 in base64.
std::string header_text(const std::string& s) {
  return ascii(s) ? s : "=?UTF-8?B?" + base64_encode(s) + "?=";
}

std::string rfc5322_date(TimePoint t) {
  const std::time_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// Bare LF → CRLF, as SMTP wants; libcurl itself escapes a line that starts with a dot.
std::string crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

struct Upload {
  std::string data;
  std::size_t sent = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, up->data.size() - up->sent);
  std::memcpy(buffer, up->data.data() + up->sent, n);
  up->sent += n;
  return n;
}

}  // namespace

std::string compose_mail(const NotificationRow& row, const SmtpConfig& smtp) {
  const std::string domain = smtp.from.substr(smtp.from.find('@') + 1);
  std::string to;
  for (char c : row.destination) to += c == ',' ? std::string(", ") : std::string(1, c);
  std::string m;
  // The date and Message-ID come from the row, so a message sent again is byte for byte the
  // same message.
  m += "Date: " + rfc5322_date(row.created_at) + "\r\n";
  m += "From: " + smtp.from + "\r\n";
  m += "To: " + to + "\r\n";
  m += "Subject: " + header_text(row.subject) + "\r\n";
  m += "Message-ID: " + notification_message_id(row, domain) + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += crlf(row.body);
  if (m.size() < 2 || m.compare(m.size() - 2, 2, "\r\n") != 0) m += "\r\n";
  return m;
}

Status send_mail(const NotificationRow& row, const SmtpConfig& smtp) {
  if (smtp.url.empty()) return Error{"mail: notifications.smtp is not configured", true};
  CurlHandle h = curl_handle(smtp.ca_file, smtp.verify, smtp.timeout_ms);
  if (!h) return Error{"mail: cannot make a libcurl handle", true};
  CURL* c = h.get();
  curl_easy_setopt(c, CURLOPT_URL, smtp.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(
      c, CURLOPT_USE_SSL,
      smtp.tls == "none" ? static_cast<long>(CURLUSESSL_NONE) : static_cast<long>(CURLUSESSL_ALL));
  if (!smtp.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, smtp.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, smtp.password.c_str());
  }
  const std::string from = "<" + smtp.from + ">";
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  CurlList rcpt;
  std::size_t start = 0;
  while (start <= row.destination.size()) {
    const std::size_t comma = row.destination.find(',', start);
    const std::string addr = row.destination.substr(start, comma - start);
    if (!addr.empty()) append(rcpt, "<" + addr + ">");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!rcpt) return Error{"mail: no recipient", false};
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  Upload up{compose_mail(row, smtp)};
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  const Status done = perform(c, "mail to " + row.destination + " via " + smtp.url);
  if (done.ok()) return done;
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  // 5xx from the server (recipient refused, message rejected) will not change by waiting;
  // anything else (unreachable, 4xx "try later", TLS trouble) is tried again.
  Error e = done.error();
  if (code >= 500 && code < 600) {
    e.message += " (SMTP " + std::to_string(code) + ")";
    e.retryable = false;
  }
  return e;
}

}  // namespace prov::notify
