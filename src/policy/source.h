#pragma once
// Where policy text came from, and the collector of everything wrong with it. Loading never stops
// at the first problem: each check reports to a DiagnosticSink and carries on.
#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "prov/policy.h"

namespace prov::policy {

struct SourceFile {
  std::string display;  // the path as shown in messages
  std::string text;     // the file's bytes, to place template errors inside a scalar
};

class DiagnosticSink {
 public:
  // `mark` is yaml-cpp's 0-based position; messages use 1-based positions.
  void error(const SourceFile& file, const YAML::Mark& mark, std::string message, std::string hint);
  // Places an error at `offset` bytes into the template held by `scalar`. When the scalar is on
  // one line and its text can be found verbatim there, the column points into the template;
  // otherwise at the scalar itself.
  void error_in_scalar(const SourceFile& file, const YAML::Mark& scalar_mark,
                       const std::string& scalar, int offset, std::string message,
                       std::string hint);
  bool empty() const { return diagnostics_.empty(); }
  std::vector<PolicyDiagnostic>& diagnostics() { return diagnostics_; }

 private:
  std::vector<PolicyDiagnostic> diagnostics_;
};

// "file:line:column" of a node, 1-based.
std::string where(const SourceFile& file, const YAML::Mark& mark);

// The closest of `known` to `word` when it is a plausible typo ("grups" → "groups"), else empty.
std::string closest(std::string_view word, const std::vector<std::string>& known);
// "did you mean 'groups'?" or "known keys: a, b, c" (`noun` names what the list holds)
std::string key_hint(std::string_view word, const std::vector<std::string>& known,
                     std::string_view noun = "keys");

}  // namespace prov::policy
