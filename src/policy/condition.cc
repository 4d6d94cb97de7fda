#include "policy/condition.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "policy/dates.h"

namespace prov::policy {
namespace {

// The value a leaf tests, read once per leaf evaluation without copying strings.
struct FieldValue {
  bool present = false;
  std::string_view text;
  std::optional<double> number;
  std::optional<bool> boolean;
  std::string owned;
  const Json* json_number = nullptr;  // numbers get their text only when a test needs it
  std::optional<std::int64_t> fact_number;

  void ensure_text() {
    if (!text.empty() || !owned.empty()) return;
    if (json_number != nullptr) {
      append_json_scalar(*json_number, owned);
    } else if (fact_number) {
      owned = std::to_string(*fact_number);
    }
    text = owned;
  }
};

std::optional<double> parse_number(std::string_view s) {
  double v = 0;
  const auto* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, v);
  if (s.empty() || r.ec != std::errc() || r.ptr != end) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "Yes") return true;
  if (s == "false" || s == "False" || s == "FALSE" || s == "no" || s == "No") return false;
  return std::nullopt;
}

void read_field(const VarRef& field, const Scope& scope, FieldValue& out) {
  if (field.kind == VarKind::Fact) {
    const auto v = scope.fact(field.fact);
    if (!v) return;
    out.present = true;
    if (field.fact == Fact::IsManager) {
      out.boolean = *v != 0;
      out.text = *v ? "true" : "false";
    } else {
      out.number = static_cast<double>(*v);
      out.fact_number = *v;
    }
    return;
  }
  const Json* v = scope.worker_value(field);
  if (v == nullptr || v->is_null()) return;
  if (v->is_string()) {
    out.text = v->get_ref<const std::string&>();
    out.present = !out.text.empty();
    return;
  }
  out.present = true;
  if (v->is_boolean()) {
    out.boolean = v->get<bool>();
    out.text = *out.boolean ? "true" : "false";
  } else if (v->is_number()) {
    out.number = v->get<double>();
    out.json_number = v;
  } else {
    out.owned = v->dump();
    out.text = out.owned;
  }
}

bool equals(FieldValue& v, const Operand& o) {
  if (v.number && o.number) return *v.number == *o.number;
  if (v.boolean && o.boolean) return *v.boolean == *o.boolean;
  v.ensure_text();
  return v.text == o.text;
}

// Ordering of the value against the operand: dates when the operand is a date, numbers when it
// is a number, text otherwise. nullopt when the value is not of the operand's kind.
std::optional<int> compare(FieldValue& v, const Operand& o) {
  const auto order = [](auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); };
  if (o.date_ms) {
    v.ensure_text();
    const auto d = parse_date_ms(v.text);
    if (!d) return std::nullopt;
    return order(*d, *o.date_ms);
  }
  if (o.number) {
    const auto n = v.number ? v.number : parse_number(v.text);
    if (!n) return std::nullopt;
    return order(*n, *o.number);
  }
  if (o.boolean && v.boolean) return order(*v.boolean, *o.boolean);
  v.ensure_text();
  return order(v.text.compare(o.text), 0);
}

bool test_leaf(const Condition& c, FieldValue& v) {
  if (c.op == CondOp::Exists) return v.present == c.exists;
  if (!v.present) return false;
  if (c.op == CondOp::Prefix || c.op == CondOp::Suffix || c.op == CondOp::Regex) v.ensure_text();
  switch (c.op) {
    case CondOp::Equals:
      return equals(v, c.operands[0]);
    case CondOp::AnyOf:
      return std::any_of(c.operands.begin(), c.operands.end(),
                         [&](const Operand& o) { return equals(v, o); });
    case CondOp::Prefix:
      return v.text.starts_with(c.operands[0].text);
    case CondOp::Suffix:
      return v.text.ends_with(c.operands[0].text);
    case CondOp::Regex:
      return std::regex_search(v.text.begin(), v.text.end(), *c.regex);
    default:
      break;
  }
  const auto ord = compare(v, c.operands[0]);
  if (!ord) return false;
  switch (c.op) {
    case CondOp::Lt:
      return *ord < 0;
    case CondOp::Lte:
      return *ord <= 0;
    case CondOp::Gt:
      return *ord > 0;
    case CondOp::Gte:
      return *ord >= 0;
    case CondOp::Eq:
      return *ord == 0;
    case CondOp::Ne:
      return *ord != 0;
    default:
      return false;
  }
}

bool is_leaf(CondOp op) { return op != CondOp::All && op != CondOp::Any && op != CondOp::Not; }

bool plain(const Operand& o) { return o.number || o.boolean; }

std::string show_operand(const Operand& o) { return plain(o) ? o.text : "'" + o.text + "'"; }

std::string show_list(const std::vector<Operand>& ops) {
  std::string out = "[";
  for (std::size_t i = 0; i < ops.size(); ++i) out += (i ? ", " : "") + ops[i].text;
  return out + "]";
}

void append_value(FieldValue& v, std::string& out) {
  v.ensure_text();
  const bool quoted = !(v.number || v.boolean);
  if (quoted) out += '\'';
  out += v.text;
  if (quoted) out += '\'';
}

const char* op_symbol(CondOp op) {
  switch (op) {
    case CondOp::Lt:
      return "<";
    case CondOp::Lte:
      return "<=";
    case CondOp::Gt:
      return ">";
    case CondOp::Gte:
      return ">=";
    case CondOp::Eq:
      return "==";
    case CondOp::Ne:
      return "!=";
    default:
      return "?";
  }
}

// The test of a leaf in words, positive or negative: "is one of [A, B]" / "is not one of [A, B]".
std::string phrase(const Condition& c, bool positive) {
  const std::string no = positive ? "" : "not ";
  switch (c.op) {
    case CondOp::Equals:
      return "is " + no + show_operand(c.operands[0]);
    case CondOp::AnyOf:
      return "is " + no + "one of " + show_list(c.operands);
    case CondOp::Prefix:
      return (positive ? "starts with '" : "does not start with '") + c.operands[0].text + "'";
    case CondOp::Suffix:
      return (positive ? "ends with '" : "does not end with '") + c.operands[0].text + "'";
    case CondOp::Regex:
      return (positive ? "matches /" : "does not match /") + c.operands[0].text + "/";
    case CondOp::Exists:
      return (positive == c.exists) ? "exists" : "is missing";
    default:
      return "is " + no + op_symbol(c.op) + " " + c.operands[0].text;
  }
}

std::string leaf_story(const Condition& c, const Scope& scope, bool outcome) {
  FieldValue v;
  read_field(c.field, scope, v);
  std::string out;
  out.reserve(c.field.name.size() + c.fails.size() + 32);
  out += c.field.name;
  out += ": ";
  if (c.op == CondOp::Exists) {
    if (!v.present) return out + (!outcome && c.exists ? "missing (expected to exist)" : "missing");
    append_value(v, out);
    return out + (!outcome && !c.exists ? " exists (expected missing)" : " exists");
  }
  if (!v.present) return out + "missing, so it " + c.fails;
  append_value(v, out);
  if (!outcome && c.op >= CondOp::Lt && c.op <= CondOp::Ne && !compare(v, c.operands[0])) {
    const char* kind = c.operands[0].date_ms ? "a date" : "a number";
    return out + " is not " + kind + " (expected " + op_symbol(c.op) + " " + c.operands[0].text +
           ")";
  }
  out += ' ';
  out += outcome ? c.holds : c.fails;
  return out;
}

std::string why_true(const Condition& c, const Scope& scope);

}  // namespace

bool evaluate(const Condition& c, const Scope& scope) {
  switch (c.op) {
    case CondOp::All:
      for (const auto& child : c.children) {
        if (!evaluate(child, scope)) return false;
      }
      return true;
    case CondOp::Any:
      for (const auto& child : c.children) {
        if (evaluate(child, scope)) return true;
      }
      return false;
    case CondOp::Not:
      return !evaluate(c.children[0], scope);
    default: {
      FieldValue v;
      read_field(c.field, scope, v);
      return test_leaf(c, v);
    }
  }
}

std::string why_false(const Condition& c, const Scope& scope) {
  switch (c.op) {
    case CondOp::All:
      for (const auto& child : c.children) {
        if (!evaluate(child, scope)) return why_false(child, scope);
      }
      return "";
    case CondOp::Any: {
      if (c.children.empty()) return "any: [] never matches";
      std::string out = "none of: ";
      for (std::size_t i = 0; i < c.children.size(); ++i) {
        out += (i ? "; " : "") + why_false(c.children[i], scope);
      }
      return out;
    }
    case CondOp::Not:
      return "not (" + why_true(c.children[0], scope) + ")";
    default:
      return leaf_story(c, scope, false);
  }
}

namespace {
std::string why_true(const Condition& c, const Scope& scope) {
  switch (c.op) {
    case CondOp::All: {
      std::string out;
      for (const auto& child : c.children)
        out += (out.empty() ? "" : " and ") + why_true(child, scope);
      return out.empty() ? "always" : out;
    }
    case CondOp::Any:
      for (const auto& child : c.children) {
        if (evaluate(child, scope)) return why_true(child, scope);
      }
      return "";
    case CondOp::Not:
      return "not (" + why_false(c.children[0], scope) + ")";
    default:
      return leaf_story(c, scope, true);
  }
}
}  // namespace

std::string describe(const Condition& c) {
  switch (c.op) {
    case CondOp::All:
    case CondOp::Any: {
      std::string out = c.op == CondOp::All ? "all of (" : "any of (";
      for (std::size_t i = 0; i < c.children.size(); ++i) {
        out += (i ? "; " : "") + describe(c.children[i]);
      }
      return out + ")";
    }
    case CondOp::Not:
      return "not (" + describe(c.children[0]) + ")";
    default:
      return c.field.name + " " + c.holds;
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation from YAML.
namespace {

const std::vector<std::string> kOperators = {"prefix", "suffix", "regex", "exists", "lt", "lte",
                                             "gt",     "gte",    "eq",    "ne",     "in"};

Operand make_operand(const std::string& text) {
  Operand o;
  o.text = text;
  o.number = parse_number(text);
  o.boolean = parse_bool(text);
  if (!o.number) o.date_ms = parse_date_ms(text);
  return o;
}

class ConditionCompiler {
 public:
  ConditionCompiler(const SourceFile& file, DiagnosticSink& sink) : file_(file), sink_(sink) {}

  std::optional<Condition> compile_map(const YAML::Node& node) {
    if (!node.IsMap()) {
      sink_.error(file_, node.Mark(), "a condition must be a map",
                  "e.g. { department: Finance } or { all: [ ... ] }");
      return std::nullopt;
    }
    Condition all;
    all.op = CondOp::All;
    bool ok = true;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& value = kv.second;
      std::optional<Condition> c;
      if (key == "all" || key == "any") {
        c = compile_list(key, kv.first, value);
      } else if (key == "not") {
        if (auto inner = compile_map(value)) {
          c = Condition{};
          c->op = CondOp::Not;
          c->children.push_back(std::move(*inner));
        }
      } else if (std::find(kOperators.begin(), kOperators.end(), key) != kOperators.end()) {
        sink_.error(file_, kv.first.Mark(), "'" + key + "' is an operator, not a field",
                    "put it under the field it tests, e.g. { jobCode: { " + key + ": ... } }");
      } else {
        c = compile_field(key, kv.first, value);
      }
      if (c) {
        all.children.push_back(std::move(*c));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    if (all.children.size() == 1) return std::move(all.children[0]);
    return all;
  }

 private:
  std::optional<Condition> compile_list(const std::string& key, const YAML::Node& key_node,
                                        const YAML::Node& value) {
    if (!value.IsSequence()) {
      sink_.error(file_, value.IsDefined() && !value.IsNull() ? value.Mark() : key_node.Mark(),
                  "'" + key + "' needs a list of conditions",
                  "e.g. " + key + ": [ { location: Berlin }, { workerType: Employee } ]");
      return std::nullopt;
    }
    Condition c;
    c.op = key == "all" ? CondOp::All : CondOp::Any;
    bool ok = true;
    for (const auto& item : value) {
      if (auto child = compile_map(item)) {
        c.children.push_back(std::move(*child));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return c;
  }

  std::optional<VarRef> field_ref(const std::string& key, const YAML::Node& key_node) {
    VarRef v;
    v.name = key;
    std::string path = key.starts_with("worker.") ? key.substr(7) : key;
    if (auto fact = fact_by_name(path)) {
      v.kind = VarKind::Fact;
      v.fact = *fact;
      return v;
    }
    if (path.empty() || key == "worker") {
      sink_.error(file_, key_node.Mark(), "'" + key + "' is not a field",
                  "name a worker field, e.g. department or worker.department");
      return std::nullopt;
    }
    v.kind = VarKind::Worker;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = path.find('.', start);
      v.path.push_back(
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (v.path.back().empty()) {
        sink_.error(file_, key_node.Mark(), "field '" + key + "' has an empty part",
                    "write nested fields as a.b");
        return std::nullopt;
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return v;
  }

  bool scalar_operand(const YAML::Node& value, const std::string& what, Operand& out) {
    if (!value.IsScalar()) {
      sink_.error(file_, value.Mark(), what + " needs a single value",
                  "write a string, number, date or true/false");
      return false;
    }
    out = make_operand(value.Scalar());
    return true;
  }

  bool list_operands(const YAML::Node& value, const std::string& what, std::vector<Operand>& out) {
    bool ok = true;
    for (const auto& item : value) {
      Operand o;
      if (scalar_operand(item, what + " list item", o)) {
        out.push_back(std::move(o));
      } else {
        ok = false;
      }
    }
    if (ok && out.empty()) {
      sink_.error(file_, value.Mark(), what + ": an empty list never matches",
                  "list at least one value or remove the condition");
      return false;
    }
    return ok;
  }

  std::optional<Condition> compile_field(const std::string& key, const YAML::Node& key_node,
                                         const YAML::Node& value) {
    auto field = field_ref(key, key_node);
    if (!field) return std::nullopt;
    Condition c;
    c.field = *field;
    if (!value.IsDefined() || value.IsNull()) {
      sink_.error(file_, key_node.Mark(), "condition on '" + key + "' has no value",
                  "write a value, or { exists: false } to require that the field is missing");
      return std::nullopt;
    }
    if (value.IsScalar()) {
      c.op = CondOp::Equals;
      c.operands.push_back(make_operand(value.Scalar()));
      return c;
    }
    if (value.IsSequence()) {
      c.op = CondOp::AnyOf;
      if (!list_operands(value, key, c.operands)) return std::nullopt;
      return c;
    }
    // A map of operators; several operators must all hold.
    Condition all;
    all.op = CondOp::All;
    bool ok = true;
    for (const auto& kv : value) {
      const std::string op = kv.first.Scalar();
      Condition leaf;
      leaf.field = *field;
      if (!compile_operator(op, kv.first, kv.second, leaf)) {
        ok = false;
        continue;
      }
      all.children.push_back(std::move(leaf));
    }
    if (!ok) return std::nullopt;
    if (all.children.empty()) {
      sink_.error(file_, value.Mark(), "condition on '" + key + "' is empty",
                  "write an operator such as { prefix: \"INT-\" }");
      return std::nullopt;
    }
    if (all.children.size() == 1) return std::move(all.children[0]);
    return all;
  }

  bool compile_operator(const std::string& op, const YAML::Node& op_node, const YAML::Node& arg,
                        Condition& leaf) {
    Operand o;
    if (op == "in") {
      leaf.op = CondOp::AnyOf;
      if (!arg.IsSequence()) {
        sink_.error(file_, arg.Mark(), "'in' needs a list", "e.g. { in: [Finance, Accounting] }");
        return false;
      }
      return list_operands(arg, op, leaf.operands);
    }
    if (op == "exists") {
      leaf.op = CondOp::Exists;
      const auto b = arg.IsScalar() ? parse_bool(arg.Scalar()) : std::nullopt;
      if (!b) {
        sink_.error(file_, arg.Mark(), "'exists' needs true or false", "e.g. { exists: true }");
        return false;
      }
      leaf.exists = *b;
      return true;
    }
    static const std::pair<const char*, CondOp> kOps[] = {
        {"prefix", CondOp::Prefix}, {"suffix", CondOp::Suffix}, {"regex", CondOp::Regex},
        {"lt", CondOp::Lt},         {"lte", CondOp::Lte},       {"gt", CondOp::Gt},
        {"gte", CondOp::Gte},       {"eq", CondOp::Eq},         {"ne", CondOp::Ne}};
    for (const auto& [name, kind] : kOps) {
      if (op != name) continue;
      leaf.op = kind;
      if (!scalar_operand(arg, "'" + op + "'", o)) return false;
      if (kind == CondOp::Regex) {
        try {
          leaf.regex = std::make_shared<const std::regex>(
              o.text, std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error& e) {
          sink_.error(file_, arg.Mark(), "invalid regex '" + o.text + "': " + e.what(),
                      "use ECMAScript syntax, e.g. \"^FIN-[0-9]+$\"");
          return false;
        }
      }
      leaf.operands.push_back(std::move(o));
      return true;
    }
    sink_.error(file_, op_node.Mark(), "unknown operator '" + op + "'",
                key_hint(op, kOperators, "operators"));
    return false;
  }

  const SourceFile& file_;
  DiagnosticSink& sink_;
};

}  // namespace

namespace {
void precompute_phrases(Condition& c) {
  if (is_leaf(c.op)) {
    c.holds = phrase(c, true);
    c.fails = phrase(c, false);
  }
  for (auto& child : c.children) precompute_phrases(child);
}
}  // namespace

std::optional<Condition> compile_condition(const YAML::Node& when, const SourceFile& file,
                                           DiagnosticSink& sink) {
  ConditionCompiler compiler(file, sink);
  auto c = compiler.compile_map(when);
  if (c) precompute_phrases(*c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Reachability: contradictions inside one conjunction.
namespace {

void flatten(const Condition& c, std::vector<const Condition*>& out) {
  if (c.op == CondOp::All) {
    for (const auto& child : c.children) flatten(child, out);
  } else {
    out.push_back(&c);
  }
}

std::string field_key(const VarRef& f) {
  if (f.kind == VarKind::Fact) return std::string(fact_name(f.fact));
  std::string key;
  for (const auto& p : f.path) key += (key.empty() ? "" : ".") + p;
  return key;
}

void fields_of(const Condition& c, std::set<std::string>& out) {
  if (is_leaf(c.op)) {
    out.insert(field_key(c.field));
  } else {
    for (const auto& child : c.children) fields_of(child, out);
  }
}

// A field some leaf of `c` tests (with fields_of() == 1 entry, the only one).
const VarRef* any_field(const Condition& c) {
  if (is_leaf(c.op)) return &c.field;
  for (const auto& child : c.children) {
    if (const VarRef* f = any_field(child)) return f;
  }
  return nullptr;
}

bool holds_for_value(const Condition& c, const VarRef& field, const std::string& value) {
  Json record = Json::object();
  Json* node = &record;
  for (const auto& p : field.path) node = &(*node)[p];
  *node = value;
  static const EvalContext kContext{};
  Scope scope(record, kContext, "");
  return evaluate(c, scope);
}

}  // namespace

std::optional<std::string> unreachable_reason(const Condition& c) {
  if (c.op == CondOp::Any) {
    std::string reasons;
    for (const auto& child : c.children) {
      const auto r = unreachable_reason(child);
      if (!r) return std::nullopt;
      reasons += (reasons.empty() ? "" : "; ") + *r;
    }
    return c.children.empty() ? "any: [] has no alternatives"
                              : "no alternative of any: can match (" + reasons + ")";
  }
  if (c.op == CondOp::Not || is_leaf(c.op)) {
    if (c.op == CondOp::AnyOf && c.operands.empty()) return c.field.name + ": empty list";
    return std::nullopt;
  }
  std::vector<const Condition*> leaves;
  flatten(c, leaves);
  // Nested alternatives must each be possible on their own.
  for (const Condition* leaf : leaves) {
    if (leaf->op == CondOp::Any) {
      if (auto r = unreachable_reason(*leaf)) return r;
    }
  }
  // Per field: the values equality tests allow, narrowed by every other test of that field.
  struct Allowed {
    const VarRef* field = nullptr;
    std::vector<std::string> values;
    std::string first;  // description of the test that set the list
  };
  std::map<std::string, Allowed> allowed;
  for (const Condition* leaf : leaves) {
    if (leaf->op != CondOp::Equals && leaf->op != CondOp::AnyOf) continue;
    const std::string key = field_key(leaf->field);
    std::vector<std::string> values;
    for (const auto& o : leaf->operands) values.push_back(o.text);
    auto it = allowed.find(key);
    if (it == allowed.end()) {
      allowed[key] = Allowed{&leaf->field, values, phrase(*leaf, true)};
      continue;
    }
    std::vector<std::string> both;
    for (const auto& v : it->second.values) {
      if (std::find(values.begin(), values.end(), v) != values.end()) both.push_back(v);
    }
    if (both.empty()) {
      return leaf->field.name + " cannot both be " + it->second.first.substr(3) + " and " +
             phrase(*leaf, true).substr(3);
    }
    it->second.values = std::move(both);
  }
  for (auto& [key, a] : allowed) {
    if (a.field->kind != VarKind::Worker) continue;
    for (const Condition* other : leaves) {
      if (other->op == CondOp::Equals || other->op == CondOp::AnyOf) {
        if (is_leaf(other->op) && field_key(other->field) == key) continue;
      }
      std::set<std::string> fields;
      fields_of(*other, fields);
      if (fields.size() != 1) continue;
      const VarRef* f = any_field(*other);
      if (f == nullptr || f->kind != VarKind::Worker || field_key(*f) != key) continue;
      std::vector<std::string> kept;
      for (const auto& v : a.values) {
        if (holds_for_value(*other, *a.field, v)) kept.push_back(v);
      }
      if (kept.empty()) {
        return a.field->name + " " + a.first + ", which never satisfies " + describe(*other);
      }
      a.values = std::move(kept);
    }
  }
  return std::nullopt;
}

}  // namespace prov::policy
