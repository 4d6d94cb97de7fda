#pragma once
// Standard Webhooks (https://www.standardwebhooks.com) signatures: HMAC-SHA256 over
// "{webhook-id}.{webhook-timestamp}.{body}", sent as space-separated "v1,<base64>" values.
// Verification never throws; every failure comes back as a reason the caller can report.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prov/clock.h"

namespace prov {

// The key bytes for a secret as administrators write it: "whsec_<base64>" is base64-decoded,
// anything else is used as raw bytes. nullopt when a whsec_ secret is not valid base64.
std::optional<std::string> signing_key(std::string_view secret);

// The three headers and the raw body of one delivery.
struct SignedMessage {
  std::string_view id;         // webhook-id
  std::string_view timestamp;  // webhook-timestamp (Unix seconds, as sent)
  std::string_view signature;  // webhook-signature
  std::string_view body;
};

enum class SignatureCheck {
  Ok,
  MissingHeader,  // one of the three headers absent or empty
  BadTimestamp,   // webhook-timestamp is not a Unix time in seconds
  TooOld,         // more than the tolerance in the past (a replay, or a very late retry)
  TooNew,         // more than the tolerance in the future (sender clock skew)
  Malformed,      // webhook-signature holds no well-formed v1 value
  NoMatch,        // well-formed, but no value matches any key
};
std::string_view to_string(SignatureCheck c);

struct SignatureVerdict {
  SignatureCheck check = SignatureCheck::NoMatch;
  std::string header;  // the header at fault ("webhook-signature"); empty when Ok
  std::string detail;  // for the problem body; never contains key material
  bool ok() const { return check == SignatureCheck::Ok; }
};

// Accepts when any v1 value matches any key (several keys = secret rotation). Values of other
// versions are ignored, as the standard asks. `keys` are key bytes (see signing_key()).
SignatureVerdict verify_signature(const SignedMessage& message,
                                  const std::vector<std::string>& keys, TimePoint now,
                                  std::chrono::seconds tolerance);

// "v1,<base64 HMAC-SHA256>" for `key` bytes; used by tests, the demo and load generators.
std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body);

}  // namespace prov
