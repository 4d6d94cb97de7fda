#pragma once
// libcurl, the one library both channels go through (SMTP with STARTTLS, HTTPS POST): what
// they share — global set-up, handle ownership, TLS and timeout options, errors as values.
#include <curl/curl.h>

#include <memory>
#include <string>

#include "prov/result.h"

namespace prov::notify {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlList = std::unique_ptr<curl_slist, SlistDeleter>;

// A fresh easy handle with certificate checks as asked (`ca_file` empty: the system store),
// a whole-exchange timeout and no signals (the daemon's threads must not get SIGALRM).
CurlHandle curl_handle(const std::string& ca_file, bool verify, int timeout_ms);

// Appends `item` to `list` (owning it).
void append(CurlList& list, const std::string& item);

// Runs the transfer. A failure to reach, talk TLS with, or hear from the peer is a retryable
// error naming `what`; what the peer answered is left to the caller (CURLINFO_RESPONSE_CODE).
Status perform(CURL* handle, const std::string& what);

}  // namespace prov::notify
