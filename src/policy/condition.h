#pragma once
// Role conditions (`when:`), compiled once from YAML into a tree:
//   field: value            equality            field: [a, b]        any of
//   field: {prefix|suffix|regex|exists|lt|lte|gt|gte|eq|ne|in: ...}
//   all: [...]  any: [...]  not: {...}          several keys in one map = all of them
// A field is a worker record field (dotted for nested objects, `worker.` prefix optional) or a
// derived fact (isManager, tenureDays, daysUntilStart).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "policy/scope.h"
#include "policy/source.h"

namespace prov::policy {

enum class CondOp {
  Equals,
  AnyOf,
  Prefix,
  Suffix,
  Regex,
  Exists,
  Lt,
  Lte,
  Gt,
  Gte,
  Eq,
  Ne,
  All,
  Any,
  Not
};

struct Operand {
  std::string text;
  std::optional<double> number;
  std::optional<std::int64_t> date_ms;
  std::optional<bool> boolean;
};

struct Condition {
  CondOp op = CondOp::All;
  VarRef field;                   // leaves: kind Worker or Fact
  std::vector<Operand> operands;  // leaves
  std::shared_ptr<const std::regex> regex;
  bool exists = true;               // Exists: expected presence
  std::vector<Condition> children;  // All / Any / Not (one child)
  // Leaves: the test in words, precomputed so explaining a failure costs one string.
  std::string holds;  // "is one of [Finance, Accounting]"
  std::string fails;  // "is not one of [Finance, Accounting]"
};

// Compiles a `when:` node. Problems go to `sink`; returns nullopt when the node is unusable.
std::optional<Condition> compile_condition(const YAML::Node& when, const SourceFile& file,
                                           DiagnosticSink& sink);

bool evaluate(const Condition& c, const Scope& scope);
// Why `c` does not hold ("department: 'Sales' is not one of [Finance, Accounting]"). Call only
// when evaluate() returned false.
std::string why_false(const Condition& c, const Scope& scope);
// The condition as written, in words ("jobCode starts with 'INT-'").
std::string describe(const Condition& c);

// Why no worker can ever satisfy `c` (contradicting equalities and the like), or nullopt when
// the analysis finds no contradiction. Conservative: nullopt does not prove reachability.
std::optional<std::string> unreachable_reason(const Condition& c);

}  // namespace prov::policy
