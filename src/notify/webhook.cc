// Outbound webhooks in the Standard Webhooks format, signed with the same primitive the inbound
// check verifies (hr/signature.h), POSTed with libcurl.
#include "hr/signature.h"
#include "notify/curl_call.h"
#include "notify/delivery.h"

namespace prov::notify {
namespace {
std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }
}  // namespace

Status send_webhook(const NotificationRow& row, const NotifyWebhookConfig& hook, TimePoint now) {
  const std::string id = notification_webhook_id(row);
  const std::int64_t ts =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  CurlHandle h = curl_handle(hook.ca_file, true, hook.timeout_ms);
  if (!h) return Error{"webhook " + hook.name + ": cannot make a libcurl handle", true};
  CURL* c = h.get();
  CurlList headers;
  append(headers, "Content-Type: application/json");
  append(headers, "webhook-id: " + id);
  append(headers, "webhook-timestamp: " + std::to_string(ts));
  append(headers, "webhook-signature: " + sign(hook.secret, id, ts, row.body));
  curl_easy_setopt(c, CURLOPT_URL, hook.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, row.body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(row.body.size()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "provisiond");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  const Status done = perform(c, "webhook " + hook.name);
  if (!done.ok()) return done;
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) return Status::Ok();
  // As the standard asks of senders: a client error other than a timeout or rate limit will not
  // heal by retrying; server errors do.
  const bool retry = code >= 500 || code == 408 || code == 429;
  return Error{"webhook " + hook.name + ": HTTP " + std::to_string(code), retry};
}

}  // namespace prov::notify
