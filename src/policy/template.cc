#include "policy/template.h"

#include <cctype>

#include "policy/dates.h"
#include "policy/text.h"

namespace prov::policy {
namespace {

struct FilterInfo {
  const char* name;
  FilterKind kind;
  std::size_t arity;
};
constexpr FilterInfo kFilters[] = {
    {"lower", FilterKind::Lower, 0},     {"upper", FilterKind::Upper, 0},
    {"ascii", FilterKind::Ascii, 0},     {"alnum", FilterKind::Alnum, 0},
    {"trim", FilterKind::Trim, 0},       {"first", FilterKind::First, 1},
    {"default", FilterKind::Default, 1}, {"replace", FilterKind::Replace, 2},
    {"date", FilterKind::Date, 1},
};

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// Recursive-descent parser over the inside of one {{ ... }}.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, int base, std::vector<TemplateError>& errors)
      : s_(text), base_(base), errors_(errors) {}

  std::optional<Expression> parse() {
    Expression e;
    skip_space();
    e.offset = pos();
    if (at_end())
      return fail(pos(), "empty expression {{ }}", "write a variable, e.g. {{ worker.firstName }}");
    if (peek() == '\'' || peek() == '"') {
      auto lit = string_literal();
      if (!lit) return std::nullopt;
      e.literal = std::move(*lit);
    } else {
      auto var = variable();
      if (!var) return std::nullopt;
      e.var = std::move(*var);
    }
    skip_space();
    while (!at_end()) {
      if (peek() != '|') {
        return fail(pos(), std::string("unexpected '") + peek() + "' in expression",
                    "separate filters with '|', e.g. {{ worker.lastName | lower }}");
      }
      ++i_;
      skip_space();
      auto filter = parse_filter();
      if (!filter) return std::nullopt;
      e.filters.push_back(std::move(*filter));
      skip_space();
    }
    return e;
  }

 private:
  std::optional<Filter> parse_filter() {
    Filter f;
    f.offset = pos();
    const std::size_t start = i_;
    while (!at_end() && ident_char(peek())) ++i_;
    f.name = std::string(s_.substr(start, i_ - start));
    if (f.name.empty()) {
      return fail_f(pos(), "missing filter name after '|'", "known filters: " + filter_names());
    }
    const auto kind = filter_by_name(f.name);
    if (!kind) {
      return fail_f(f.offset, "unknown filter '" + f.name + "'",
                    "known filters: " + filter_names());
    }
    f.kind = *kind;
    skip_space();
    if (!at_end() && peek() == '(') {
      ++i_;
      skip_space();
      while (!at_end() && peek() != ')') {
        auto arg = parse_arg();
        if (!arg) return std::nullopt;
        f.args.push_back(std::move(*arg));
        skip_space();
        if (!at_end() && peek() == ',') {
          ++i_;
          skip_space();
        } else if (!at_end() && peek() != ')') {
          return fail_f(pos(), "expected ',' or ')' in the arguments of '" + f.name + "'",
                        "e.g. replace(' ', '-')");
        }
      }
      if (at_end())
        return fail_f(f.offset, "missing ')' after the arguments of '" + f.name + "'",
                      "close the argument list");
      ++i_;
    }
    const std::size_t want = filter_arity(f.kind);
    if (f.args.size() != want) {
      return fail_f(f.offset,
                    "filter '" + f.name + "' takes " + std::to_string(want) + " argument" +
                        (want == 1 ? "" : "s") + ", got " + std::to_string(f.args.size()),
                    usage(f.kind));
    }
    if (!check_args(f)) return std::nullopt;
    return f;
  }

  static std::string usage(FilterKind k) {
    switch (k) {
      case FilterKind::First:
        return "e.g. first(1)";
      case FilterKind::Default:
        return "e.g. default(worker.firstName) or default('n/a')";
      case FilterKind::Replace:
        return "e.g. replace(' ', '-')";
      case FilterKind::Date:
        return "e.g. date('%Y-%m-%d')";
      default:
        return "write it without parentheses";
    }
  }

  bool check_args(const Filter& f) {
    using K = FilterArg::Kind;
    switch (f.kind) {
      case FilterKind::First:
        if (f.args[0].kind != K::Integer || f.args[0].number < 0) {
          fail(f.args[0].offset, "first(n) needs a whole number >= 0", "e.g. first(1)");
          return false;
        }
        return true;
      case FilterKind::Date: {
        if (f.args[0].kind != K::String) {
          fail(f.args[0].offset, "date(fmt) needs a quoted format", "e.g. date('%Y-%m-%d')");
          return false;
        }
        const auto bad = unsupported_directive(f.args[0].text);
        if (!bad.empty()) {
          fail(f.args[0].offset, "date format directive '" + bad + "' is not supported",
               "use %Y %y %m %d %H %M %S or %%");
          return false;
        }
        return true;
      }
      case FilterKind::Replace:
        if (f.args[0].kind == K::String && f.args[0].text.empty()) {
          fail(f.args[0].offset, "replace() cannot search for an empty string",
               "e.g. replace(' ', '-')");
          return false;
        }
        if (f.args[0].kind == K::Integer || f.args[1].kind == K::Integer) {
          fail(f.offset, "replace(a, b) needs text arguments", "quote them: replace('1', 'one')");
          return false;
        }
        return true;
      default:
        return true;
    }
  }

  std::optional<FilterArg> parse_arg() {
    FilterArg a;
    a.offset = pos();
    if (peek() == '\'' || peek() == '"') {
      auto lit = string_literal();
      if (!lit) return std::nullopt;
      a.kind = FilterArg::Kind::String;
      a.text = std::move(*lit);
      return a;
    }
    if (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '-') {
      const std::size_t start = i_;
      ++i_;
      while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++i_;
      a.kind = FilterArg::Kind::Integer;
      try {
        a.number = std::stoll(std::string(s_.substr(start, i_ - start)));
      } catch (const std::exception&) {
        fail(a.offset, "not a number", "write a whole number");
        return std::nullopt;
      }
      return a;
    }
    auto var = variable();
    if (!var) return std::nullopt;
    a.kind = FilterArg::Kind::Variable;
    a.var = std::move(*var);
    return a;
  }

  std::optional<std::string> string_literal() {
    const char quote = peek();
    const int start = pos();
    ++i_;
    std::string out;
    while (!at_end() && peek() != quote) {
      if (peek() == '\\' && i_ + 1 < s_.size()) ++i_;
      out.push_back(peek());
      ++i_;
    }
    if (at_end()) {
      fail(start, "unterminated string literal", std::string("close it with ") + quote);
      return std::nullopt;
    }
    ++i_;
    return out;
  }

  std::optional<VarRef> variable() {
    VarRef v;
    v.offset = pos();
    if (at_end() || !ident_start(peek())) {
      fail(pos(),
           std::string("expected a variable name") +
               (at_end() ? "" : std::string(" at '") + peek() + "'"),
           "e.g. {{ worker.lastName }}, {{ username }} or {{ givenName }}");
      return std::nullopt;
    }
    const std::size_t start = i_;
    while (true) {
      const std::size_t seg = i_;
      while (!at_end() && ident_char(peek())) ++i_;
      if (seg == i_) {
        fail(pos(), "a name must follow '.'", "e.g. worker.firstName");
        return std::nullopt;
      }
      if (at_end() || peek() != '.') break;
      ++i_;
    }
    v.name = std::string(s_.substr(start, i_ - start));
    return v;
  }

  std::nullopt_t fail(int offset, std::string message, std::string hint) {
    errors_.push_back({offset, std::move(message), std::move(hint)});
    return std::nullopt;
  }
  std::optional<Filter> fail_f(int offset, std::string message, std::string hint) {
    return fail(offset, std::move(message), std::move(hint));
  }

  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  int pos() const { return base_ + static_cast<int>(i_); }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(peek()))) ++i_;
  }

  std::string_view s_;
  int base_;
  std::vector<TemplateError>& errors_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<FilterKind> filter_by_name(std::string_view name) {
  for (const auto& f : kFilters) {
    if (name == f.name) return f.kind;
  }
  return std::nullopt;
}

std::string filter_names() {
  std::string out;
  for (const auto& f : kFilters) {
    if (!out.empty()) out += ", ";
    out += f.name;
    if (f.arity == 1)
      out += f.kind == FilterKind::First ? "(n)" : f.kind == FilterKind::Date ? "(fmt)" : "(x)";
    if (f.arity == 2) out += "(a, b)";
  }
  return out;
}

std::size_t filter_arity(FilterKind kind) {
  for (const auto& f : kFilters) {
    if (f.kind == kind) return f.arity;
  }
  return 0;
}

void apply_filter(const Filter& filter, const Scope& scope, std::string& value) {
  std::string out;
  switch (filter.kind) {
    case FilterKind::Lower:
      to_lower(value, out);
      break;
    case FilterKind::Upper:
      to_upper(value, out);
      break;
    case FilterKind::Ascii:
      fold_ascii(value, out);
      break;
    case FilterKind::Alnum:
      keep_alnum(value, out);
      break;
    case FilterKind::Trim:
      out = trim(value);
      break;
    case FilterKind::First:
      value.resize(first_chars(value, filter.args[0].number).size());
      return;
    case FilterKind::Default: {
      if (!value.empty()) return;
      const auto& a = filter.args[0];
      if (a.kind == FilterArg::Kind::Variable) {
        scope.append(a.var, value);
      } else if (a.kind == FilterArg::Kind::String) {
        value = a.text;
      } else {
        value = std::to_string(a.number);
      }
      return;
    }
    case FilterKind::Replace: {
      std::string from, to;
      for (int k = 0; k < 2; ++k) {
        const auto& a = filter.args[static_cast<std::size_t>(k)];
        std::string& dst = k == 0 ? from : to;
        if (a.kind == FilterArg::Kind::Variable) {
          scope.append(a.var, dst);
        } else {
          dst = a.text;
        }
      }
      if (from.empty()) return;
      std::size_t pos = 0;
      while (true) {
        const std::size_t hit = value.find(from, pos);
        if (hit == std::string::npos) {
          out.append(value, pos, std::string::npos);
          break;
        }
        out.append(value, pos, hit - pos);
        out += to;
        pos = hit + from.size();
      }
      break;
    }
    case FilterKind::Date: {
      const auto ms = parse_date_ms(trim(value));
      if (ms) format_date(*ms, filter.args[0].text, out);
      break;
    }
  }
  value = std::move(out);
}

Template Template::parse(std::string source, std::vector<TemplateError>& errors) {
  Template t;
  t.source_ = std::move(source);
  const std::string_view s = t.source_;
  std::size_t i = 0;
  std::string text;
  while (i < s.size()) {
    const std::size_t open = s.find("{{", i);
    if (open == std::string_view::npos) {
      text.append(s.substr(i));
      break;
    }
    text.append(s.substr(i, open - i));
    const std::size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) {
      errors.push_back(
          {static_cast<int>(open), "'{{' is never closed", "end the expression with '}}'"});
      return t;
    }
    if (!text.empty()) t.parts_.push_back({std::move(text), std::nullopt});
    text.clear();
    ExpressionParser parser(s.substr(open + 2, close - open - 2), static_cast<int>(open + 2),
                            errors);
    if (auto e = parser.parse()) t.parts_.push_back({{}, std::move(*e)});
    i = close + 2;
  }
  if (!text.empty()) t.parts_.push_back({std::move(text), std::nullopt});
  return t;
}

void Template::render_expression(const Expression& e, const Scope& scope, std::string& out) const {
  if (e.filters.empty()) {
    if (e.literal) {
      out += *e.literal;
    } else {
      scope.append(e.var, out);
    }
    return;
  }
  std::string value;
  if (e.literal) {
    value = *e.literal;
  } else {
    scope.append(e.var, value);
  }
  for (const auto& f : e.filters) apply_filter(f, scope, value);
  out += value;
}

void Template::render(const Scope& scope, std::string& out) const {
  for (const auto& part : parts_) {
    if (part.expr) {
      render_expression(*part.expr, scope, out);
    } else {
      out += part.text;
    }
  }
}

void Template::render_counter(const Scope& scope, std::string& out) const {
  for (const auto& part : parts_) {
    if (part.expr && !part.expr->literal && part.expr->var.kind == VarKind::Counter) {
      render_expression(*part.expr, scope, out);
    }
  }
}

bool Template::uses(VarKind kind) const {
  bool found = false;
  for_each_var([&](const VarRef& v) { found = found || v.kind == kind; });
  return found;
}

}  // namespace prov::policy
