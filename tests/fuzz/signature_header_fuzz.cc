// Standard Webhooks signature checking. Input, one field per line:
//   webhook-id \n webhook-timestamp \n webhook-signature \n secret \n body (the rest, any bytes)
// Properties: verify_signature() never crashes on any headers; its verdict is self-consistent;
// a message signed with sign() verifies with that key, also next to garbage values and at the
// edges of the tolerance; and a flipped body byte, a shifted timestamp or a changed id never
// verifies.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "hr/signature.h"
#include "prov/clock.h"
#include "prov/crypto.h"

namespace {

using prov::SignatureCheck;
using prov::fuzz::printable;

prov::TimePoint at_seconds(std::int64_t s) { return prov::from_unix_ms(s * 1000); }

void check_verdict_shape(const prov::SignatureVerdict& v) {
  PROV_FUZZ_CHECK(v.ok() == (v.check == SignatureCheck::Ok), std::string(to_string(v.check)));
  PROV_FUZZ_CHECK(v.ok() == v.header.empty(), "header '" + v.header + "' for " +
                                                  std::string(to_string(v.check)));
  PROV_FUZZ_CHECK(v.ok() || !v.detail.empty(), std::string(to_string(v.check)));
}

// A timestamp for the signing properties: the input's own when it is a plain number of seconds
// small enough to turn into milliseconds, else one derived from the input.
std::int64_t property_timestamp(std::string_view text, std::string_view id) {
  std::int64_t value = 0;
  bool digits = !text.empty() && text.size() <= 15;
  for (const char c : digits ? text : std::string_view()) {  // ≤ 15 digits never overflow
    if (c < '0' || c > '9') {
      digits = false;
      break;
    }
    value = value * 10 + (c - '0');
  }
  if (digits) return value;
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : id) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return 1700000000 + static_cast<std::int64_t>(h % 100000000);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = prov::fuzz::split_fields(
      std::string_view(reinterpret_cast<const char*>(data), size), 5);
  const std::string_view id = f[0], timestamp = f[1], signature = f[2], secret = f[3],
                         body = f[4];
  const auto key = prov::signing_key(secret);

  // 1. Arbitrary headers, with and without a usable key, now = the timestamp's own second when it
  // has one (so the HMAC comparison is reached) and a fixed clock otherwise.
  std::vector<std::string> keys;
  if (key) keys.push_back(*key);
  keys.push_back("a-second-key-during-rotation");
  const prov::SignedMessage raw{id, timestamp, signature, body};
  const auto fixed_now = at_seconds(1700000000);
  check_verdict_shape(prov::verify_signature(raw, keys, fixed_now, std::chrono::seconds(300)));
  const std::int64_t ts = property_timestamp(timestamp, id);
  const auto v = prov::verify_signature(raw, keys, at_seconds(ts), std::chrono::seconds(300));
  check_verdict_shape(v);
  if (v.ok()) {
    // Accepting means some value really is the HMAC of this message under one of the keys.
    bool genuine = false;
    const std::string content =
        std::string(id) + "." + std::string(timestamp) + "." + std::string(body);
    for (const auto& k : keys) {
      if (k.empty()) continue;
      const std::string mac = prov::hmac_sha256(k, content);
      for (std::string_view rest = signature; !rest.empty();) {
        const std::size_t space = rest.find(' ');
        const std::string_view item = rest.substr(0, space);
        rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
        if (item.substr(0, 3) != "v1,") continue;
        genuine = genuine || prov::base64_decode(item.substr(3)) == mac;
      }
    }
    PROV_FUZZ_CHECK(genuine, "accepted a signature no key made: " + printable(signature));
  }
  PROV_FUZZ_CHECK(!prov::verify_signature(raw, {}, at_seconds(ts), std::chrono::seconds(300)).ok(),
                  "accepted with no keys at all");

  // 2. Signing round trip. An empty id cannot be delivered (the header is required) and an empty
  // key signs nothing, so those inputs only exercise part 1.
  if (!key || key->empty() || id.empty()) return 0;
  const std::string ts_text = std::to_string(ts);
  const std::string good = prov::sign(*key, id, ts, body);
  const std::vector<std::string> one_key{*key};
  const auto tolerance = std::chrono::seconds(300);
  const auto verify = [&](std::string_view msg_id, std::string_view msg_ts, std::string_view sig,
                          std::string_view msg_body, std::int64_t now_s) {
    return prov::verify_signature({msg_id, msg_ts, sig, msg_body}, one_key, at_seconds(now_s),
                                  tolerance);
  };

  auto ok = verify(id, ts_text, good, body, ts);
  PROV_FUZZ_CHECK(ok.ok(), "own signature rejected: " + std::string(to_string(ok.check)) +
                               " id=" + printable(id) + " sig=" + good);
  // Rotation: the good value among arbitrary others (the input's header without spaces
  // around it) is still accepted.
  const std::string listed = std::string(signature) + " " + good + " " + std::string(signature);
  ok = verify(id, ts_text, listed, body, ts);
  PROV_FUZZ_CHECK(ok.ok(), "good value next to others rejected: " + printable(listed));
  // The edges of the tolerance window are inside it; one second further is outside.
  PROV_FUZZ_CHECK(verify(id, ts_text, good, body, ts + 300).ok(), "rejected at +tolerance");
  PROV_FUZZ_CHECK(verify(id, ts_text, good, body, ts - 300).ok(), "rejected at -tolerance");
  PROV_FUZZ_CHECK(verify(id, ts_text, good, body, ts + 301).check == SignatureCheck::TooOld,
                  "accepted past tolerance");
  PROV_FUZZ_CHECK(verify(id, ts_text, good, body, ts - 301).check == SignatureCheck::TooNew,
                  "accepted before tolerance");

  // Any change of the signed content is caught. Flip every byte of short bodies, and for long
  // ones a spread of positions chosen by the input.
  std::string flipped(body);
  const std::size_t step = flipped.size() <= 64 ? 1 : flipped.size() / 64 + 1;
  for (std::size_t i = 0; i < flipped.size(); i += step) {
    const char before = flipped[i];
    const auto mask = static_cast<char>(1u << (static_cast<unsigned char>(before) % 8));
    flipped[i] = static_cast<char>(before ^ mask);
    const auto bad = verify(id, ts_text, good, flipped, ts);
    PROV_FUZZ_CHECK(bad.check == SignatureCheck::NoMatch,
                    "flipped body byte " + std::to_string(i) + " gave " +
                        std::string(to_string(bad.check)));
    flipped[i] = before;
  }
  const auto appended = verify(id, ts_text, good, std::string(body) + " ", ts);
  PROV_FUZZ_CHECK(appended.check == SignatureCheck::NoMatch, "body with a byte appended verified");
  const std::string other_ts = std::to_string(ts + 1);
  PROV_FUZZ_CHECK(verify(id, other_ts, good, body, ts).check == SignatureCheck::NoMatch,
                  "signature verified for another timestamp");
  const std::string other_id = std::string(id) + "x";
  PROV_FUZZ_CHECK(verify(other_id, ts_text, good, body, ts).check == SignatureCheck::NoMatch,
                  "signature verified for another webhook-id");
  // The same value under a different key must not verify.
  const std::string other_key = *key + "\x01";
  PROV_FUZZ_CHECK(!prov::verify_signature({id, ts_text, good, body}, {other_key}, at_seconds(ts),
                                          tolerance)
                       .ok(),
                  "signature verified under another key");
  return 0;
}
