#pragma once
// Text transformations used by template filters and the username transform. Input is UTF-8;
// invalid bytes are dropped rather than passed on, so a directory never receives broken UTF-8.
#include <cstdint>
#include <string>
#include <string_view>

namespace prov::policy {

// Folds Latin letters to ASCII: diacritics are removed (é → e, ñ → n, ł → l), ligatures and
// special letters are spelled out (ß → ss, æ → ae, œ → oe, þ → th, ĳ → ij), combining marks are
// dropped. Covers Latin-1 Supplement, Latin Extended-A and the Romanian comma letters. Any other
// non-ASCII character is dropped.
void fold_ascii(std::string_view in, std::string& out);

// Case mapping for ASCII, Latin-1 Supplement and Latin Extended-A; other characters unchanged.
void to_lower(std::string_view in, std::string& out);
void to_upper(std::string_view in, std::string& out);

// Keeps ASCII letters, digits and the separators '.', '-', '_'; separators at either end are
// removed so a missing name part cannot leave a name starting or ending with a dot.
void keep_alnum(std::string_view in, std::string& out);

// The first `n` characters (code points, not bytes).
std::string_view first_chars(std::string_view in, std::int64_t n);

// Removes ASCII whitespace (space, \t, \n, \r, \f, \v) at both ends.
std::string_view trim(std::string_view in);

}  // namespace prov::policy
