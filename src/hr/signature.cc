#include "hr/signature.h"

#include <charconv>

#include "prov/crypto.h"

namespace prov {

namespace {

constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kHmacBytes = 32;

std::string signed_content(std::string_view id, std::string_view timestamp, std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(".").append(timestamp).append(".").append(body);
  return content;
}

std::optional<std::int64_t> parse_unix_seconds(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

SignatureVerdict reject(SignatureCheck check, std::string header, std::string detail) {
  return SignatureVerdict{check, std::move(header), std::move(detail)};
}

}  // namespace

std::string_view to_string(SignatureCheck c) {
  switch (c) {
    case SignatureCheck::Ok:
      return "ok";
    case SignatureCheck::MissingHeader:
      return "missing header";
    case SignatureCheck::BadTimestamp:
      return "bad timestamp";
    case SignatureCheck::TooOld:
      return "timestamp too old";
    case SignatureCheck::TooNew:
      return "timestamp too new";
    case SignatureCheck::Malformed:
      return "malformed signature";
    case SignatureCheck::NoMatch:
      return "no matching signature";
  }
  return "unknown";
}

std::optional<std::string> signing_key(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix)
    return base64_decode(secret.substr(kSecretPrefix.size()));
  return std::string(secret);
}

SignatureVerdict verify_signature(const SignedMessage& message,
                                  const std::vector<std::string>& keys, TimePoint now,
                                  std::chrono::seconds tolerance) {
  if (message.id.empty())
    return reject(SignatureCheck::MissingHeader, "webhook-id", "the webhook-id header is missing");
  if (message.timestamp.empty())
    return reject(SignatureCheck::MissingHeader, "webhook-timestamp",
                  "the webhook-timestamp header is missing");
  if (message.signature.empty())
    return reject(SignatureCheck::MissingHeader, "webhook-signature",
                  "the webhook-signature header is missing");

  auto sent = parse_unix_seconds(message.timestamp);
  if (!sent)
    return reject(SignatureCheck::BadTimestamp, "webhook-timestamp",
                  "webhook-timestamp must be Unix time in whole seconds");
  const std::int64_t now_s = to_unix_ms(now) / 1000;
  const std::int64_t limit = tolerance.count();
  if (now_s - *sent > limit)
    return reject(SignatureCheck::TooOld, "webhook-timestamp",
                  "webhook-timestamp is more than " + std::to_string(limit) + " s in the past");
  if (*sent - now_s > limit)
    return reject(SignatureCheck::TooNew, "webhook-timestamp",
                  "webhook-timestamp is more than " + std::to_string(limit) + " s in the future");

  // Collect the decoded v1 values first so a header of only garbage is told apart from a
  // well-formed signature made with another key.
  std::vector<std::string> candidates;
  std::string_view rest = message.signature;
  while (!rest.empty()) {
    std::size_t space = rest.find(' ');
    std::string_view item = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    if (item.empty()) continue;
    std::size_t comma = item.find(',');
    if (comma == std::string_view::npos) continue;
    if (item.substr(0, comma) != "v1") continue;  // other schemes (v1a, …) are not ours
    auto raw = base64_decode(item.substr(comma + 1));
    if (raw && raw->size() == kHmacBytes) candidates.push_back(std::move(*raw));
  }
  if (candidates.empty())
    return reject(SignatureCheck::Malformed, "webhook-signature",
                  "webhook-signature holds no well-formed v1,<base64> value");

  const std::string content = signed_content(message.id, message.timestamp, message.body);
  bool matched = false;
  for (const std::string& key : keys) {
    if (key.empty()) continue;
    const std::string expected = hmac_sha256(key, content);
    // Keep comparing after a match so the time taken does not tell which key or value matched.
    for (const std::string& candidate : candidates)
      matched = constant_time_equal(expected, candidate) || matched;
  }
  if (!matched)
    return reject(SignatureCheck::NoMatch, "webhook-signature",
                  "no webhook-signature value matches the configured secret");
  return SignatureVerdict{SignatureCheck::Ok, {}, {}};
}

std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body) {
  const std::string ts = std::to_string(timestamp);
  return "v1," + base64_encode(hmac_sha256(key, signed_content(id, ts, body)));
}

}  // namespace prov
