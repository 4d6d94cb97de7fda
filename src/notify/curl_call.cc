#include "notify/curl_call.h"

#include <mutex>

namespace prov::notify {

CurlHandle curl_handle(const std::string& ca_file, bool verify, int timeout_ms) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CurlHandle h(curl_easy_init());
  if (!h) return h;
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  curl_easy_setopt(h.get(), CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  curl_easy_setopt(h.get(), CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!ca_file.empty()) curl_easy_setopt(h.get(), CURLOPT_CAINFO, ca_file.c_str());
  return h;
}

void append(CurlList& list, const std::string& item) {
  curl_slist* grown = curl_slist_append(list.get(), item.c_str());
  if (grown) {
    (void)list.release();
    list.reset(grown);
  }
}

Status perform(CURL* handle, const std::string& what) {
  if (!handle) return Error{what + ": cannot make a libcurl handle", true};
  char detail[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, detail);
  const CURLcode rc = curl_easy_perform(handle);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_OK) return Status::Ok();
  return Error{
      what + ": " + curl_easy_strerror(rc) + (detail[0] ? std::string(" (") + detail + ")" : ""),
      true};
}

}  // namespace prov::notify
