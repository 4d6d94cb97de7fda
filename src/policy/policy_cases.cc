#include "policy/policy_cases.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "policy/source.h"

namespace prov::policy {
namespace {

const std::vector<std::string> kCaseKeys = {
    "name", "worker", "now", "taken", "is_manager", "existing_username", "expect"};
const std::vector<std::string> kExpectKeys = {"roles",    "groups",     "entitlements", "ou",
                                              "username", "attributes", "manager",      "hold"};

// YAML → JSON: quoted scalars stay text; plain scalars become numbers, booleans or null when
// they read as such (so a test worker looks like a webhook body).
Json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json j = Json::object();
      for (const auto& kv : node) j[kv.first.Scalar()] = to_json(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      Json j = Json::array();
      for (const auto& item : node) j.push_back(to_json(item));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;
      if (s == "true" || s == "false") return s == "true";
      if (s == "null" || s == "~") return nullptr;
      const bool numeric = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '-';
      }) && s.find('-', 1) == std::string::npos;
      // Only when the text round-trips, so "007" stays text.
      if (numeric && s != "-" && s.size() < 18 && std::to_string(std::stoll(s)) == s) {
        return std::stoll(s);
      }
      return s;
    }
    default:
      return nullptr;
  }
}

std::string show(const std::set<std::string>& s) {
  std::string out = "[";
  for (const auto& x : s) out += (out.size() > 1 ? ", " : "") + x;
  return out + "]";
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

void compare_sets(const char* key, const std::set<std::string>& want,
                  const std::set<std::string>& got, std::vector<std::string>& diff) {
  std::set<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::inserter(missing, missing.end()));
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(),
                      std::inserter(extra, extra.end()));
  if (missing.empty() && extra.empty()) return;
  std::string line = std::string(key) + ": expected " + show(want) + ", got " + show(got);
  if (!missing.empty()) line += "; missing " + show(missing);
  if (!extra.empty()) line += "; unexpected " + show(extra);
  diff.push_back(std::move(line));
}

void compare_value(const std::string& key, const std::string& want, const std::string& got,
                   std::vector<std::string>& diff) {
  if (want != got) diff.push_back(key + ": expected " + quote(want) + ", got " + quote(got));
}

class CaseParser {
 public:
  std::vector<PolicyCase> parse(const std::vector<std::filesystem::path>& files) {
    std::vector<PolicyCase> cases;
    for (const auto& p : files) {
      SourceFile file{p.string(), {}};
      std::ifstream in(p, std::ios::binary);
      if (!in) {
        sink_.error(file, YAML::Mark(), "cannot read the test file", "check the path");
        continue;
      }
      std::ostringstream buf;
      buf << in.rdbuf();
      file.text = buf.str();
      YAML::Node root;
      try {
        root = YAML::Load(file.text);
      } catch (const YAML::Exception& e) {
        sink_.error(file, e.mark, "YAML syntax error: " + e.msg, "fix the indentation or quoting");
        continue;
      }
      if (root.IsNull()) continue;
      if (!root.IsSequence()) {
        sink_.error(file, root.Mark(), "a policy test file must be a list of cases",
                    "start each case with '- name: ...'");
        continue;
      }
      for (const auto& item : root) {
        if (auto c = parse_case(file, item)) cases.push_back(std::move(*c));
      }
    }
    if (!sink_.empty()) throw PolicyLoadError(std::move(sink_.diagnostics()));
    return cases;
  }

 private:
  std::optional<std::set<std::string>> names(const SourceFile& file, const YAML::Node& v) {
    if (!v.IsSequence()) {
      sink_.error(file, v.Mark(), "expected a list of names", "e.g. [staff, finance]");
      return std::nullopt;
    }
    std::set<std::string> out;
    for (const auto& item : v) out.insert(item.Scalar());
    return out;
  }

  bool check_keys(const SourceFile& file, const YAML::Node& map,
                  const std::vector<std::string>& known, const std::string& what) {
    bool ok = true;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        sink_.error(file, kv.first.Mark(), "unknown " + what + " '" + key + "'",
                    key_hint(key, known));
        ok = false;
      }
    }
    return ok;
  }

  std::optional<PolicyCase> parse_case(const SourceFile& file, const YAML::Node& item) {
    if (!item.IsMap()) {
      sink_.error(file, item.Mark(), "a case must be a map", "e.g. - name: ...");
      return std::nullopt;
    }
    if (!check_keys(file, item, kCaseKeys, "case key")) return std::nullopt;
    PolicyCase c;
    c.location = where(file, item.Mark());
    const std::size_t errors_before = sink_.diagnostics().size();
    if (item["name"] && item["name"].IsScalar()) {
      c.name = item["name"].Scalar();
    } else {
      sink_.error(file, item.Mark(), "case has no name", "add 'name: ...'");
    }
    if (const auto w = item["worker"]; w && w.IsMap()) {
      c.worker = to_json(w);
    } else {
      sink_.error(file, item.Mark(), "case has no worker map", "add 'worker: { ... }'");
    }
    if (const auto n = item["now"]) {
      c.now = n.IsScalar() ? parse_time(n.Scalar()) : std::nullopt;
      if (!c.now) {
        sink_.error(file, n.Mark(), "'now' must be a date or date-time",
                    "e.g. now: 2026-12-01 or now: 2026-12-01T08:00:00Z");
      }
    }
    if (const auto t = item["taken"]) {
      if (auto s = names(file, t)) c.taken = std::move(*s);
    }
    if (const auto m = item["is_manager"]) c.is_manager = m.IsScalar() && m.Scalar() == "true";
    if (const auto e = item["existing_username"]) c.existing_username = e.Scalar();
    const auto ex = item["expect"];
    if (!ex || !ex.IsMap()) {
      sink_.error(file, item.Mark(), "case has no 'expect' map",
                  "add expect: { roles: [...], username: ... }");
    } else if (check_keys(file, ex, kExpectKeys, "expect key")) {
      CaseExpectation& x = c.expect;
      if (ex["roles"]) x.roles = names(file, ex["roles"]);
      if (ex["groups"]) x.groups = names(file, ex["groups"]);
      if (ex["entitlements"]) x.entitlements = names(file, ex["entitlements"]);
      if (ex["ou"]) x.ou = ex["ou"].Scalar();
      if (ex["username"]) x.username = ex["username"].Scalar();
      if (ex["manager"]) x.manager = ex["manager"].Scalar();
      if (ex["hold"]) x.hold = ex["hold"].Scalar() == "true";
      if (const auto a = ex["attributes"]) {
        if (!a.IsMap()) {
          sink_.error(file, a.Mark(), "'attributes' must be a map", "e.g. { mail: a@b.c }");
        } else {
          for (const auto& kv : a) x.attributes[kv.first.Scalar()] = kv.second.Scalar();
        }
      }
    }
    if (sink_.diagnostics().size() != errors_before) return std::nullopt;
    return c;
  }

  DiagnosticSink sink_;
};

}  // namespace

std::vector<std::filesystem::path> find_case_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<PolicyCase> load_cases(const std::vector<std::filesystem::path>& files) {
  return CaseParser().parse(files);
}

CaseResult run_case(const Policy& policy, const PolicyCase& c, TimePoint default_now) {
  Worker worker;
  worker.record = c.worker;
  if (const auto it = c.worker.find("workerId"); it != c.worker.end()) {
    worker.worker_id = it->is_string() ? it->get<std::string>() : it->dump();
  }
  EvalContext ctx;
  ctx.now = c.now.value_or(default_now);
  ctx.username_free = [&](const std::string& u) { return c.taken.count(u) == 0; };
  const bool manager = c.is_manager;
  ctx.is_manager = [manager](const std::string&) { return manager; };
  ctx.existing_username = c.existing_username;
  const Evaluation ev = policy.evaluate(worker, ctx);

  CaseResult r;
  const CaseExpectation& x = c.expect;
  if (x.roles) {
    std::set<std::string> got;
    for (const auto& role : ev.roles) {
      if (role.matched) got.insert(role.name);
    }
    compare_sets("roles", *x.roles, got, r.differences);
    for (const auto& role : ev.roles) {
      if (x.roles->count(role.name) && !role.matched) {
        r.differences.push_back("  role " + role.name + " did not match: " + role.failed_condition);
      }
    }
  }
  if (x.groups) compare_sets("groups", *x.groups, ev.account.groups, r.differences);
  if (x.entitlements) {
    compare_sets("entitlements", *x.entitlements, ev.account.entitlements, r.differences);
  }
  if (x.ou) compare_value("ou", *x.ou, ev.account.ou, r.differences);
  if (x.username) {
    compare_value("username", *x.username, ev.account.username, r.differences);
    if (ev.account.username != *x.username) {
      for (const auto& t : ev.username_trail) {
        r.differences.push_back("  candidate " + t.candidate + ": " + t.verdict);
      }
    }
  }
  if (x.manager) {
    compare_value("manager", *x.manager, ev.account.manager_worker_id.value_or(""), r.differences);
  }
  if (x.hold && *x.hold != ev.hold_reason.has_value()) {
    r.differences.push_back(std::string("hold: expected ") + (*x.hold ? "a hold" : "no hold") +
                            ", got " +
                            (ev.hold_reason ? "hold (" + *ev.hold_reason + ")" : "none"));
  }
  for (const auto& [name, want] : x.attributes) {
    const auto it = ev.account.attributes.find(name);
    const std::string got = it == ev.account.attributes.end() ? "" : it->second;
    if (got != want) {
      const auto src = ev.attributes.find(name);
      std::string line = "attributes." + name + ": expected " + quote(want) + ", got " +
                         (it == ev.account.attributes.end() ? "nothing" : quote(got));
      if (src != ev.attributes.end()) line += " (from " + src->second.source + ")";
      r.differences.push_back(std::move(line));
    }
  }
  r.passed = r.differences.empty();
  return r;
}

int run_cases(const Policy& policy, const std::vector<PolicyCase>& cases, TimePoint default_now,
              std::ostream& out) {
  int failed = 0;
  for (const auto& c : cases) {
    const CaseResult r = run_case(policy, c, default_now);
    if (r.passed) {
      out << "ok    " << c.name << "\n";
      continue;
    }
    ++failed;
    out << "FAIL  " << c.name << "  (" << c.location << ")\n";
    for (const auto& d : r.differences) out << "        " << d << "\n";
  }
  out << cases.size() << " case" << (cases.size() == 1 ? "" : "s") << ": "
      << cases.size() - static_cast<std::size_t>(failed) << " passed, " << failed << " failed\n";
  return failed;
}

}  // namespace prov::policy
