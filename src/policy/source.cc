#include "policy/source.h"

#include <algorithm>

namespace prov::policy {

void DiagnosticSink::error(const SourceFile& file, const YAML::Mark& mark, std::string message,
                           std::string hint) {
  PolicyDiagnostic d;
  d.file = file.display;
  d.line = mark.line < 0 ? 1 : mark.line + 1;
  d.column = mark.column < 0 ? 1 : mark.column + 1;
  d.message = std::move(message);
  d.hint = std::move(hint);
  diagnostics_.push_back(std::move(d));
}

void DiagnosticSink::error_in_scalar(const SourceFile& file, const YAML::Mark& scalar_mark,
                                     const std::string& value, int offset, std::string message,
                                     std::string hint) {
  YAML::Mark mark = scalar_mark;
  if (mark.pos >= 0 && static_cast<std::size_t>(mark.pos) < file.text.size() &&
      value.find('\n') == std::string::npos) {
    std::size_t start = static_cast<std::size_t>(mark.pos);
    const char first = file.text[start];
    if (first == '"' || first == '\'') ++start;
    // Only trust the offset when the scalar's text appears verbatim (no escapes in between).
    if (file.text.compare(start, value.size(), value) == 0) {
      mark.column += static_cast<int>(start - static_cast<std::size_t>(mark.pos)) + offset;
    }
  }
  error(file, mark, std::move(message), std::move(hint));
}

std::string where(const SourceFile& file, const YAML::Mark& mark) {
  return file.display + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string closest(std::string_view word, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_distance = 3;  // more than two edits away is not a typo
  for (const auto& k : known) {
    const std::size_t d = edit_distance(word, k);
    if (d < best_distance && d < std::max<std::size_t>(k.size(), 2)) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

std::string key_hint(std::string_view word, const std::vector<std::string>& known,
                     std::string_view noun) {
  const std::string guess = closest(word, known);
  if (!guess.empty()) return "did you mean '" + guess + "'?";
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return "known " + std::string(noun) + ": " + list;
}

}  // namespace prov::policy
