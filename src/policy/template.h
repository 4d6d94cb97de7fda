#pragma once
// The template language of attribute values and username candidates:
//   text {{ variable | filter | filter(arg, ...) }} text
// A template is parsed once into parts (literal text, or an expression: a variable or string
// literal followed by a filter chain). Rendering walks the parts; it never parses.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/scope.h"

namespace prov::policy {

enum class FilterKind { Lower, Upper, Ascii, Alnum, Trim, First, Default, Replace, Date };
std::optional<FilterKind> filter_by_name(std::string_view name);
// Names of every filter, for hints: "lower, upper, ...".
std::string filter_names();
// Number of arguments a filter takes.
std::size_t filter_arity(FilterKind kind);

struct FilterArg {
  enum class Kind { String, Integer, Variable } kind = Kind::String;
  std::string text;         // String
  std::int64_t number = 0;  // Integer
  VarRef var;               // Variable
  int offset = 0;
};

struct Filter {
  FilterKind kind = FilterKind::Lower;
  std::string name;
  std::vector<FilterArg> args;
  int offset = 0;
};

struct Expression {
  std::optional<std::string> literal;  // a quoted string instead of a variable
  VarRef var;
  std::vector<Filter> filters;
  int offset = 0;  // of the expression's first character
};

struct TemplateError {
  int offset = 0;  // byte offset in the template text
  std::string message;
  std::string hint;
};

// Applies a filter to `value` in place. Argument variables are read from `scope`.
void apply_filter(const Filter& filter, const Scope& scope, std::string& value);

class Template {
 public:
  Template() = default;
  // Parses `source`; syntax errors (unclosed braces, unknown filters, wrong argument counts, bad
  // date formats) are appended to `errors`. Variables stay unresolved until resolve_vars().
  static Template parse(std::string source, std::vector<TemplateError>& errors);

  void render(const Scope& scope, std::string& out) const;
  // Renders only the expressions that use the counter {{ n }} (the part a shortened username
  // must keep).
  void render_counter(const Scope& scope, std::string& out) const;

  const std::string& source() const { return source_; }
  bool uses(VarKind kind) const;
  // Visits every variable reference (expressions and filter arguments) so the loader can
  // resolve and check them.
  template <class F>
  void for_each_var(F&& visit) {
    for (auto& part : parts_) {
      if (!part.expr) continue;
      if (!part.expr->literal) visit(part.expr->var);
      for (auto& f : part.expr->filters) {
        for (auto& a : f.args) {
          if (a.kind == FilterArg::Kind::Variable) visit(a.var);
        }
      }
    }
  }
  template <class F>
  void for_each_var(F&& visit) const {
    const_cast<Template*>(this)->for_each_var([&](const VarRef& v) { visit(v); });
  }

 private:
  struct Part {
    std::string text;
    std::optional<Expression> expr;
  };
  void render_expression(const Expression& e, const Scope& scope, std::string& out) const;

  std::string source_;
  std::vector<Part> parts_;
};

}  // namespace prov::policy
