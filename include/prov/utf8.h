#pragma once
// One strict UTF-8 decoder (RFC 3629) for every place that walks text by character: DN escaping,
// username folding, AD password and name checks.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace prov {

// Decodes the character at s[i] and advances i past it. Returns nullopt, with i unchanged, for an
// invalid, truncated, overlong or surrogate sequence or a code point above U+10FFFF.
std::optional<std::uint32_t> decode_utf8(std::string_view s, std::size_t& i);

}  // namespace prov
