// The policy template language: parse arbitrary template text, resolve its variables the way the
// loader does, and render it against a fixed worker. The raw input also goes through the text
// filters directly. Properties: no crash or exception; error offsets lie inside the template;
// text without "{{" renders as itself; rendering is deterministic; filters keep their promises
// (ascii gives ASCII, alnum gives [A-Za-z0-9._-] without edge separators, first(n) is a prefix of
// at most n code points, trim leaves no edge whitespace, output of valid UTF-8 stays valid).
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "policy/scope.h"
#include "policy/template.h"
#include "policy/text.h"
#include "prov/clock.h"
#include "prov/model.h"
#include "prov/policy.h"

namespace {

using prov::Json;
using prov::fuzz::printable;
using prov::policy::Scope;
using prov::policy::Template;
using prov::policy::VarKind;
using prov::policy::VarRef;

const std::vector<std::string> kAttributes = {"givenName", "sn", "cn", "mail"};

const Json& fixed_record() {
  static const Json record = Json::parse(R"({
    "workerId": "100234", "firstName": "José", "lastName": "Núñez-O'Brien",
    "preferredFirstName": "Pepe", "department": "Finance", "jobTitle": "Senior Accountant",
    "jobCode": "FIN-ACC-2", "location": "Berlin", "country": "DE", "hireDate": "2024-03-01",
    "terminationDate": null, "fte": 0.8, "level": 7, "remote": true,
    "address": {"city": "Köln", "street": "Straße 1"}, "tags": ["a", "b"],
    "nickname": "  Łukasz Żółć  ", "empty": ""
  })");
  return record;
}

// The loader's resolution rules, for a policy whose attributes are kAttributes.
void resolve(VarRef& v) {
  if (v.name.rfind("worker.", 0) == 0) {
    v.kind = VarKind::Worker;
    std::string_view rest = std::string_view(v.name).substr(7);
    while (true) {
      const std::size_t dot = rest.find('.');
      v.path.emplace_back(rest.substr(0, dot));
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
  } else if (v.name == "username") {
    v.kind = VarKind::Username;
  } else if (v.name == "n") {
    v.kind = VarKind::Counter;
  } else if (const auto fact = prov::policy::fact_by_name(v.name)) {
    v.kind = VarKind::Fact;
    v.fact = *fact;
  } else {
    for (std::size_t i = 0; i < kAttributes.size(); ++i) {
      if (v.name == kAttributes[i]) {
        v.kind = VarKind::Attribute;
        v.index = static_cast<int>(i);
      }
    }
  }
}

// The whitespace trim() documents removing: all of ASCII's (crashers/template/ holds the inputs
// that showed form feed and vertical tab were once left behind).
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

void check_text_filters(std::string_view in) {
  const bool utf8 = prov::fuzz::valid_utf8(in);
  std::string out;
  prov::policy::fold_ascii(in, out);
  for (const char c : out) {
    PROV_FUZZ_CHECK(static_cast<unsigned char>(c) < 0x80, "ascii kept a non-ASCII byte: " +
                                                              printable(out));
  }
  out.clear();
  prov::policy::keep_alnum(in, out);
  for (const char c : out) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    PROV_FUZZ_CHECK(allowed, "alnum kept " + printable(std::string(1, c)));
  }
  if (!out.empty()) {
    for (const char edge : {out.front(), out.back()}) {
      PROV_FUZZ_CHECK(edge != '.' && edge != '-' && edge != '_', "alnum edge: " + printable(out));
    }
  }
  for (const auto lower : {true, false}) {
    out.clear();
    if (lower) {
      prov::policy::to_lower(in, out);
    } else {
      prov::policy::to_upper(in, out);
    }
    PROV_FUZZ_CHECK(!utf8 || prov::fuzz::valid_utf8(out),
                    std::string(lower ? "lower" : "upper") + " broke UTF-8: " + printable(out));
  }
  const std::string_view t = prov::policy::trim(in);
  PROV_FUZZ_CHECK(t.empty() || (!is_space(t.front()) && !is_space(t.back())),
                  "trim left edge whitespace: " + printable(t));
  for (const std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{2}, std::int64_t{5},
                               static_cast<std::int64_t>(in.size())}) {
    const std::string_view head = prov::policy::first_chars(in, n);
    PROV_FUZZ_CHECK(in.substr(0, head.size()) == head, "first() is not a prefix");
    if (utf8) {
      PROV_FUZZ_CHECK(code_points(head) == std::min<std::size_t>(code_points(in), n),
                      "first(" + std::to_string(n) + ") of " + printable(in) + " is " +
                          printable(head));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string source(reinterpret_cast<const char*>(data), size);
  check_text_filters(source);

  std::vector<prov::policy::TemplateError> errors;
  Template t = Template::parse(source, errors);
  for (const auto& e : errors) {
    PROV_FUZZ_CHECK(e.offset >= 0 && static_cast<std::size_t>(e.offset) <= source.size(),
                    "error offset " + std::to_string(e.offset) + ": " + e.message);
    PROV_FUZZ_CHECK(!e.message.empty(), "error without a message");
  }
  if (source.find("{{") == std::string::npos) {
    PROV_FUZZ_CHECK(errors.empty(), "plain text has errors: " + printable(source));
  }
  // A policy is admin-written and each replace() may multiply a value's length by its
  // replacement's; more than two would let a small input ask for gigabytes, which says nothing
  // about correctness.
  if (prov::fuzz::count_of(source, "replace") > 2) return 0;

  t.for_each_var([](VarRef& v) { resolve(v); });
  prov::EvalContext ctx;
  ctx.now = prov::from_unix_ms(1764547200000);
  ctx.is_manager = [](const std::string& id) { return id == "100234"; };
  Scope scope(fixed_record(), ctx, "100234");
  scope.attributes = {"Pepe", "Núñez-O'Brien", "Pepe Núñez-O'Brien", "pnunez@example.com"};
  scope.username = "pnunez";
  scope.counter = 7;

  std::string first, second, counter;
  t.render(scope, first);
  t.render(scope, second);
  PROV_FUZZ_CHECK(first == second, "rendering is not deterministic: " + printable(source));
  t.render_counter(scope, counter);
  if (source.find("{{") == std::string::npos) {
    PROV_FUZZ_CHECK(first == source, "plain text rendered as " + printable(first));
  }
  return 0;
}
