// Reads policy YAML (one file or a folder of files), checks everything it can, and compiles the
// result into a CompiledPolicy. Every problem becomes a PolicyDiagnostic with file:line:column;
// loading continues after a problem so that one run reports them all.
#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <tuple>

#include "policy/compiled_policy.h"
#include "policy/notifications.h"
#include "prov/config.h"
#include "prov/crypto.h"

namespace prov {

std::string PolicyDiagnostic::to_string() const {
  std::string out =
      file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message;
  if (!hint.empty()) out += " (" + hint + ")";
  return out;
}

namespace {
std::string summarize(const std::vector<PolicyDiagnostic>& diagnostics) {
  std::string out = "policy has " + std::to_string(diagnostics.size()) + " error" +
                    (diagnostics.size() == 1 ? "" : "s");
  for (const auto& d : diagnostics) out += "\n" + d.to_string();
  return out;
}
}  // namespace

PolicyLoadError::PolicyLoadError(std::vector<PolicyDiagnostic> diagnostics)
    : std::runtime_error(summarize(diagnostics)), diagnostics_(std::move(diagnostics)) {}

std::string_view to_string(HoldRule r) {
  switch (r) {
    case HoldRule::OverThreshold:
      return "over_threshold";
    case HoldRule::PolicyChange:
      return "policy_change";
    case HoldRule::Always:
      return "always";
  }
  return "over_threshold";
}

HoldRule BrakePolicy::rule(OpKind kind) const {
  switch (kind) {
    case OpKind::Disable:
      return disable;
    case OpKind::RemoveMember:
      return remove_member;
    case OpKind::Move:
      return move;
    case OpKind::Delete:
      return del;
    default:
      return HoldRule::OverThreshold;
  }
}

std::shared_ptr<const Policy> Policy::load(const std::filesystem::path& path) {
  return policy::load_policy(path);
}

namespace policy {

namespace {
const std::vector<std::string> kTopKeys = {"version",  "attributes", "username",
                                           "ou",       "roles",      "lifecycle",
                                           "password", "brake",      "release_groups",
                                           "targets",  "notifications"};
const std::vector<std::string> kTargetKeys = {"attributes"};
const std::vector<std::string> kBrakeKeys = {"disable", "remove_member", "move", "delete"};
constexpr HoldRule kHoldRules[] = {HoldRule::OverThreshold, HoldRule::PolicyChange,
                                   HoldRule::Always};
const std::vector<std::string> kUsernameKeys = {"candidates", "transform", "max_length",
                                                "reserve_days"};
const std::vector<std::string> kRoleKeys = {"name", "when",       "groups", "entitlements",
                                            "ou",   "attributes", "targets"};
const std::vector<std::string> kRoleTargetKeys = {"groups", "attributes"};
const std::vector<std::string> kLifecycleKeys = {"prehire_days", "leave", "termination", "rehire"};
const std::vector<std::string> kTerminationKeys = {"lock", "remove_groups", "move_to",
                                                   "delete_after_days"};
const std::vector<std::string> kPasswordKeys = {"initial", "deliver"};
const std::vector<std::string> kReservedNames = {"worker",    "username",   "n",
                                                 "isManager", "tenureDays", "daysUntilStart"};

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

enum class TemplateUse { Candidate, Attribute };

struct ParsedTemplate {
  const SourceFile* file = nullptr;
  YAML::Mark mark;   // of the scalar, for positions
  std::string text;  // the scalar as written
  Template value;
};

struct ParsedAttribute {
  std::string name;
  ParsedTemplate base;
  bool has_base = false;
};

// A value one target gets instead of the account's (see TargetAttributeDefinition).
struct ParsedTargetAttribute {
  std::string target;
  std::string name;
  ParsedTemplate value;
};

struct ParsedRole {
  RoleDefinition def;
  const SourceFile* file = nullptr;
  bool named = false;
  YAML::Mark name_mark;
  YAML::Mark when_mark;
  std::vector<std::pair<std::string, ParsedTemplate>> attributes;
  std::vector<ParsedTargetAttribute> target_attributes;
};

}  // namespace

class PolicyLoader {
 public:
  std::shared_ptr<const CompiledPolicy> load(const std::filesystem::path& path) {
    policy_ = std::make_shared<CompiledPolicy>();
    read_sources(path);
    for (const auto& file : files_) parse_file(file);
    if (files_.empty() && sink_.empty()) {
      SourceFile none{path.string(), {}};
      sink_.error(none, YAML::Mark(), "no policy files found",
                  "a folder must hold *.yaml or *.yml files");
    }
    if (!files_.empty()) finish();
    if (!sink_.empty()) {
      auto& d = sink_.diagnostics();
      std::stable_sort(
          d.begin(), d.end(), [](const PolicyDiagnostic& a, const PolicyDiagnostic& b) {
            return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
          });
      throw PolicyLoadError(std::move(d));
    }
    return policy_;
  }

 private:
  // -- reading --------------------------------------------------------------------------------
  void read_sources(const std::filesystem::path& path) {
    std::error_code ec;
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(path, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        const auto ext = entry.path().extension();
        if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
          paths.push_back(entry.path());
        }
      }
      std::sort(paths.begin(), paths.end());
    } else {
      paths.push_back(path);
    }
    std::string digest_input;
    for (const auto& p : paths) {
      std::ifstream in(p, std::ios::binary);
      SourceFile file{p.string(), {}};
      if (!in) {
        sink_.error(file, YAML::Mark(), "cannot read the policy file",
                    "check the path (policy.path) and its permissions");
        continue;
      }
      std::ostringstream buf;
      buf << in.rdbuf();
      file.text = buf.str();
      digest_input += file.display + '\0' + file.text + '\0';
      files_.push_back(std::move(file));
      policy_->files_.push_back(p.string());
    }
    policy_->digest_ = sha256_hex(digest_input).substr(0, 16);
  }

  void parse_file(const SourceFile& file) {
    YAML::Node root;
    try {
      root = YAML::Load(file.text);
    } catch (const YAML::ParserException& e) {
      unparsed_ = true;
      sink_.error(file, e.mark, "YAML syntax error: " + e.msg,
                  "fix the indentation or quoting at this place");
      return;
    } catch (const YAML::Exception& e) {
      unparsed_ = true;
      sink_.error(file, e.mark, std::string("cannot read YAML: ") + e.what(), "");
      return;
    }
    if (root.IsNull() || !root.IsDefined()) return;  // an empty file contributes nothing
    if (!root.IsMap()) {
      sink_.error(file, root.Mark(), "a policy file must be a map of sections",
                  "start with 'version: 1' and sections such as attributes, username, roles");
      return;
    }
    for_each_key(file, root, kTopKeys, "policy section",
                 [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                   if (key == "attributes") {
                     parse_attributes(file, v);
                     return;
                   }
                   if (key == "roles") {
                     parse_roles(file, v);
                     return;
                   }
                   if (key == "targets") {
                     parse_policy_targets(file, v, k);
                     return;
                   }
                   if (key == "notifications") {  // rules may be spread over files, as roles
                     parse_notifications(file, v, k, sink_, policy_->notification_rules_);
                     return;
                   }
                   // Single-valued sections may appear in one file only.
                   const auto [it, fresh] = section_origin_.try_emplace(key, where(file, k.Mark()));
                   if (!fresh) {
                     sink_.error(file, k.Mark(),
                                 "section '" + key + "' is already defined at " + it->second,
                                 "keep one '" + key + "' section across the policy's files");
                     return;
                   }
                   if (key == "version") {
                     if (!v.IsScalar() || v.Scalar() != "1") {
                       sink_.error(file, v.IsNull() ? k.Mark() : v.Mark(),
                                   "unsupported policy version", "write 'version: 1'");
                     }
                   } else if (key == "username") {
                     parse_username(file, v, k);
                   } else if (key == "ou") {
                     if (auto s = scalar(file, v, k, "ou")) policy_->default_ou_ = *s;
                   } else if (key == "lifecycle") {
                     parse_lifecycle(file, v, k);
                   } else if (key == "password") {
                     parse_password(file, v, k);
                   } else if (key == "brake") {
                     parse_brake(file, v, k);
                   } else if (key == "release_groups") {
                     parse_release_groups(file, v, k);
                   }
                 });
  }

  // Calls `fn` for each key of `map` that is in `known`; reports unknown and repeated keys.
  template <class F>
  void for_each_key(const SourceFile& file, const YAML::Node& map,
                    const std::vector<std::string>& known, const std::string& what, F&& fn) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        sink_.error(file, kv.first.Mark(), "a key must be a plain name", "");
        continue;
      }
      const std::string key = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        sink_.error(file, kv.first.Mark(), "unknown " + what + " '" + key + "'",
                    key_hint(key, known));
        continue;
      }
      if (!seen.emplace(key, kv.first.Mark()).second) {
        sink_.error(file, kv.first.Mark(), "'" + key + "' appears twice in the same map",
                    "remove one of them");
        continue;
      }
      fn(key, kv.first, kv.second);
    }
  }

  // -- typed values -----------------------------------------------------------------------------
  // The mark of a value, or of its key when the value is empty (null nodes point past the key).
  static YAML::Mark mark_of(const YAML::Node& v, const YAML::Node& k) {
    return (v.IsNull() || !v.IsDefined()) ? k.Mark() : v.Mark();
  }

  std::optional<std::string> scalar(const SourceFile& file, const YAML::Node& v,
                                    const YAML::Node& k, const std::string& name) {
    if (!v.IsScalar()) {
      sink_.error(file, mark_of(v, k), "'" + name + "' must be a text value",
                  v.IsNull() ? "give it a value" : "write a single value, not a list or map");
      return std::nullopt;
    }
    return v.Scalar();
  }

  std::optional<int> integer(const SourceFile& file, const YAML::Node& v, const YAML::Node& k,
                             const std::string& name, int min) {
    if (v.IsScalar()) {
      try {
        std::size_t used = 0;
        const int n = std::stoi(v.Scalar(), &used);
        if (used == v.Scalar().size() && n >= min) return n;
      } catch (const std::exception&) {
      }
    }
    sink_.error(file, mark_of(v, k),
                "'" + name + "' must be a whole number >= " + std::to_string(min),
                "e.g. " + name + ": " + std::to_string(std::max(min, 1)));
    return std::nullopt;
  }

  std::optional<bool> boolean(const SourceFile& file, const YAML::Node& v, const YAML::Node& k,
                              const std::string& name) {
    if (v.IsScalar()) {
      const std::string& s = v.Scalar();
      if (s == "true" || s == "True" || s == "yes") return true;
      if (s == "false" || s == "False" || s == "no") return false;
    }
    sink_.error(file, mark_of(v, k), "'" + name + "' must be true or false",
                "e.g. " + name + ": true");
    return std::nullopt;
  }

  std::optional<std::string> choice(const SourceFile& file, const YAML::Node& v,
                                    const YAML::Node& k, const std::string& name,
                                    const std::vector<std::string>& allowed) {
    if (v.IsScalar() && std::find(allowed.begin(), allowed.end(), v.Scalar()) != allowed.end()) {
      return v.Scalar();
    }
    sink_.error(file, mark_of(v, k),
                "'" + name + "' must be one of: " + join(allowed, " | ") +
                    (v.IsScalar() ? " (got '" + v.Scalar() + "')" : ""),
                "e.g. " + name + ": " + allowed.front());
    return std::nullopt;
  }

  std::vector<std::string> string_list(const SourceFile& file, const YAML::Node& v,
                                       const YAML::Node& k, const std::string& name) {
    std::vector<std::string> out;
    if (!v.IsSequence()) {
      sink_.error(file, mark_of(v, k), "'" + name + "' must be a list",
                  "e.g. " + name + ": [staff, vpn-users]");
      return out;
    }
    for (const auto& item : v) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        sink_.error(file, item.Mark(), "each entry of '" + name + "' must be a non-empty name",
                    "write names as plain text");
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  std::optional<ParsedTemplate> parse_template(const SourceFile& file, const YAML::Node& v,
                                               const YAML::Node& k, const std::string& name) {
    if (!v.IsScalar()) {
      sink_.error(file, mark_of(v, k), "'" + name + "' must be a template string",
                  "e.g. " + name + ": \"{{ worker.lastName }}\"");
      return std::nullopt;
    }
    std::vector<TemplateError> errors;
    ParsedTemplate t{&file, v.Mark(), v.Scalar(), Template::parse(v.Scalar(), errors)};
    for (auto& e : errors) {
      sink_.error_in_scalar(file, v.Mark(), v.Scalar(), e.offset, std::move(e.message),
                            std::move(e.hint));
    }
    if (!errors.empty()) return std::nullopt;
    return t;
  }

  // -- sections ---------------------------------------------------------------------------------
  void parse_attributes(const SourceFile& file, const YAML::Node& v) {
    if (!v.IsMap()) {
      sink_.error(file, v.Mark(), "'attributes' must be a map of name: template",
                  "e.g. sn: \"{{ worker.lastName }}\"");
      return;
    }
    for (const auto& kv : v) {
      const std::string name = kv.first.Scalar();
      if (!check_attribute_name(file, kv.first)) continue;
      if (const auto it = attribute_origin_.find(name); it != attribute_origin_.end()) {
        sink_.error(file, kv.first.Mark(),
                    "attribute '" + name + "' is already defined at " + it->second,
                    "define each attribute once; roles may override it");
        continue;
      }
      attribute_origin_[name] = where(file, kv.first.Mark());
      if (auto t = parse_template(file, kv.second, kv.first, name)) {
        attributes_.push_back({name, std::move(*t), true});
      }
    }
  }

  bool check_attribute_name(const SourceFile& file, const YAML::Node& key) {
    const std::string name = key.Scalar();
    if (!is_identifier(name)) {
      sink_.error(file, key.Mark(), "'" + name + "' is not a valid attribute name",
                  "use letters, digits, '-' and '_'");
      return false;
    }
    if (std::find(kReservedNames.begin(), kReservedNames.end(), name) != kReservedNames.end()) {
      sink_.error(file, key.Mark(), "'" + name + "' is a reserved name, not an attribute",
                  "rename the attribute");
      return false;
    }
    if (name == "employeeNumber") {
      sink_.error(file, key.Mark(), "employeeNumber is always the workerId",
                  "remove it from the policy");
      return false;
    }
    return true;
  }

  void parse_username(const SourceFile& file, const YAML::Node& v, const YAML::Node& k) {
    if (!v.IsMap()) {
      sink_.error(file, mark_of(v, k), "'username' must be a map",
                  "give it 'candidates:' and optionally transform, max_length, reserve_days");
      return;
    }
    has_username_ = true;
    username_mark_ = k.Mark();
    username_file_ = &file;
    UsernameRules& rules = policy_->username_;
    for_each_key(
        file, v, kUsernameKeys, "username key",
        [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
          if (key == "candidates") {
            has_candidates_ = true;
            candidates_mark_ = kk.Mark();
            if (!vv.IsSequence() || vv.size() == 0) {
              sink_.error(file, mark_of(vv, kk),
                          "'candidates' must be a non-empty list of templates",
                          "e.g. - \"{{ worker.firstName | first(1) }}{{ worker.lastName }}\"");
              return;
            }
            for (const auto& item : vv) {
              if (auto t = parse_template(file, item, kk, "candidate")) {
                candidates_.push_back(std::move(*t));
              } else {
                candidates_ok_ = false;
              }
            }
          } else if (key == "transform") {
            if (!vv.IsSequence()) {
              sink_.error(file, mark_of(vv, kk), "'transform' must be a list of filters",
                          "e.g. transform: [ascii, lower, alnum]");
              return;
            }
            for (const auto& item : vv) {
              const auto kind = item.IsScalar() ? filter_by_name(item.Scalar()) : std::nullopt;
              if (!kind || filter_arity(*kind) != 0) {
                sink_.error(file, item.Mark(),
                            "'" + (item.IsScalar() ? item.Scalar() : std::string("?")) +
                                "' cannot be used in transform",
                            "use filters without arguments: ascii, lower, upper, alnum, trim");
                continue;
              }
              Filter f;
              f.kind = *kind;
              f.name = item.Scalar();
              rules.transform.push_back(std::move(f));
            }
          } else if (key == "max_length") {
            if (auto n = integer(file, vv, kk, key, 1)) rules.max_length = *n;
          } else if (key == "reserve_days") {
            if (auto n = integer(file, vv, kk, key, 0)) rules.reserve_days = *n;
          }
        });
    if (!has_candidates_) {
      sink_.error(file, k.Mark(), "'username' has no 'candidates'",
                  "list the username templates to try, best first");
    }
  }

  void parse_roles(const SourceFile& file, const YAML::Node& v) {
    if (!v.IsSequence()) {
      sink_.error(file, v.Mark(), "'roles' must be a list", "start each role with '- name: ...'");
      return;
    }
    for (const auto& item : v) {
      if (!item.IsMap()) {
        sink_.error(file, item.Mark(), "a role must be a map", "e.g. - name: staff");
        continue;
      }
      ParsedRole role;
      role.file = &file;
      role.def.location = where(file, item.Mark());
      bool ok = true;
      for_each_key(
          file, item, kRoleKeys, "role key",
          [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
            if (key == "name") {
              if (auto s = scalar(file, vv, kk, "name")) {
                role.def.name = *s;
                role.named = true;
                role.name_mark = vv.Mark();
              } else {
                ok = false;
              }
            } else if (key == "when") {
              role.when_mark = kk.Mark();
              if (vv.IsMap() && vv.size() == 0) return;  // when: {} applies to everyone
              if (auto c = compile_condition(vv.IsNull() ? kk : vv, file, sink_)) {
                role.def.when = std::move(*c);
              } else {
                ok = false;
              }
            } else if (key == "groups") {
              role.def.groups = string_list(file, vv, kk, key);
            } else if (key == "targets") {
              parse_role_targets(file, vv, kk, role);
            } else if (key == "entitlements") {
              role.def.entitlements = string_list(file, vv, kk, key);
            } else if (key == "ou") {
              role.def.ou = scalar(file, vv, kk, "ou");
            } else if (key == "attributes") {
              if (!vv.IsMap()) {
                sink_.error(file, mark_of(vv, kk),
                            "role 'attributes' must be a map of name: template",
                            "e.g. attributes: { description: \"Contractor\" }");
                return;
              }
              for (const auto& akv : vv) {
                if (!check_attribute_name(file, akv.first)) continue;
                if (auto t = parse_template(file, akv.second, akv.first, akv.first.Scalar())) {
                  role.attributes.emplace_back(akv.first.Scalar(), std::move(*t));
                }
              }
            }
          });
      if (role.def.name.empty()) {
        if (!role.named) {
          sink_.error(file, item.Mark(), "role has no name", "add 'name: <role name>'");
        }
        continue;
      }
      if (const auto it = role_origin_.find(role.def.name); it != role_origin_.end()) {
        sink_.error(
            file, role.name_mark,
            "duplicate role name '" + role.def.name + "' (first defined at " + it->second + ")",
            "give every role a unique name");
        continue;
      }
      role_origin_[role.def.name] = where(file, role.name_mark);
      if (!ok) continue;
      if (role.def.when) {
        if (auto reason = unreachable_reason(*role.def.when)) {
          sink_.error(file, role.when_mark,
                      "role '" + role.def.name + "' can never match: " + *reason,
                      "fix the condition; to mean 'any of', use a list or any: [...]");
          continue;
        }
      }
      roles_.push_back(std::move(role));
    }
  }

  // One `NAME: { ... }` of a `targets:` map: its name when it is a target name whose value is a
  // map (recorded where it is named, for unknown_targets), else "" after reporting why.
  std::string target_key(const SourceFile& file, const YAML::const_iterator::value_type& t,
                         const std::string& what, const std::string& example) {
    const std::string name = t.first.IsScalar() ? t.first.Scalar() : "";
    if (!is_target_name(name)) {
      sink_.error(file, t.first.Mark(), "'" + name + "' is not a target name",
                  "target names are 1-63 characters of a-z, 0-9 and -");
      return "";
    }
    const YAML::Mark m = t.first.Mark();
    policy_->target_references_.push_back(
        {name, PolicyDiagnostic{file.display, m.line + 1, m.column + 1, "", ""}});
    if (!t.second.IsMap()) {
      sink_.error(file, mark_of(t.second, t.first),
                  "the " + what + " of target '" + name + "' must be a map",
                  "e.g. " + name + ": " + example);
      return "";
    }
    return name;
  }

  // A role's `targets: { NAME: { groups: [...] } }`. Whether NAME is one of the config's
  // targets is checked where the config is known (unknown_targets); here only its form.
  void parse_role_targets(const SourceFile& file, const YAML::Node& v, const YAML::Node& k,
                          ParsedRole& role) {
    RoleDefinition& def = role.def;
    if (!v.IsMap()) {
      sink_.error(file, mark_of(v, k), "role 'targets' must be a map of target: grants",
                  "e.g. targets: { crm: { groups: [sales] } }");
      return;
    }
    for (const auto& t : v) {
      const std::string name = target_key(file, t, "grants", "{ groups: [staff] }");
      if (name.empty()) continue;
      auto& groups = def.target_groups[name];
      for_each_key(file, t.second, kRoleTargetKeys, "target grant",
                   [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
                     if (key == "attributes") {
                       parse_target_attributes(file, vv, kk, name, role.target_attributes);
                       return;
                     }
                     for (auto& g : string_list(file, vv, kk, key)) groups.push_back(std::move(g));
                   });
    }
  }

  // The policy's `targets: { NAME: { attributes: { name: template } } }`: what one target gets
  // instead of the account's attributes. May be split across files; each value once.
  void parse_policy_targets(const SourceFile& file, const YAML::Node& v, const YAML::Node& k) {
    if (!v.IsMap()) {
      sink_.error(file, mark_of(v, k), "'targets' must be a map of target: settings",
                  "e.g. targets: { slack: { attributes: { title: \"{{ worker.jobTitle }}\" } } }");
      return;
    }
    for (const auto& t : v) {
      const std::string name =
          target_key(file, t, "settings", "{ attributes: { title: \"{{ worker.jobTitle }}\" } }");
      if (name.empty()) continue;
      for_each_key(file, t.second, kTargetKeys, "target setting",
                   [&](const std::string&, const YAML::Node& kk, const YAML::Node& vv) {
                     const std::size_t before = target_attributes_.size();
                     parse_target_attributes(file, vv, kk, name, target_attributes_);
                     for (std::size_t i = before; i < target_attributes_.size(); ++i) {
                       const auto& a = target_attributes_[i];
                       const auto [it, fresh] = target_attribute_origin_.try_emplace(
                           name + '\0' + a.name, where(file, a.value.mark));
                       if (fresh) continue;
                       sink_.error(file, a.value.mark,
                                   "attribute '" + a.name + "' of target '" + name +
                                       "' is already defined at " + it->second,
                                   "define it once; roles may override it");
                     }
                   });
    }
  }

  void parse_target_attributes(const SourceFile& file, const YAML::Node& v, const YAML::Node& k,
                               const std::string& target, std::vector<ParsedTargetAttribute>& out) {
    if (!v.IsMap()) {
      sink_.error(file, mark_of(v, k), "a target's 'attributes' must be a map of name: template",
                  "e.g. attributes: { title: \"{{ worker.jobTitle }}\" }; \"\" sends none");
      return;
    }
    for (const auto& kv : v) {
      if (!check_attribute_name(file, kv.first)) continue;
      const std::string name = kv.first.Scalar();  // employeeNumber refused above: the owner link
      if (auto t = parse_template(file, kv.second, kv.first, name))
        out.push_back({target, name, std::move(*t)});
    }
  }

  void parse_lifecycle(const SourceFile& file, const YAML::Node& v, const YAML::Node& k) {
    if (!v.IsMap()) {
      sink_.error(file, mark_of(v, k), "'lifecycle' must be a map",
                  "keys: " + join(kLifecycleKeys));
      return;
    }
    LifecyclePolicy& lc = policy_->lifecycle_;
    for_each_key(
        file, v, kLifecycleKeys, "lifecycle key",
        [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
          if (key == "prehire_days") {
            if (auto n = integer(file, vv, kk, key, 0)) lc.prehire_days = *n;
          } else if (key == "leave") {
            if (auto s = choice(file, vv, kk, key, {"lock", "none"})) lc.leave = *s;
          } else if (key == "rehire") {
            if (auto s = choice(file, vv, kk, key, {"reuse_account", "new_account"}))
              lc.rehire = *s;
          } else if (key == "termination") {
            if (!vv.IsMap()) {
              sink_.error(file, mark_of(vv, kk), "'termination' must be a map",
                          "keys: " + join(kTerminationKeys));
              return;
            }
            for_each_key(
                file, vv, kTerminationKeys, "termination key",
                [&](const std::string& tkey, const YAML::Node& tk, const YAML::Node& tv) {
                  if (tkey == "lock") {
                    if (auto s = choice(file, tv, tk, tkey, {"immediately", "end_of_day"})) {
                      lc.termination_lock = *s;
                    }
                  } else if (tkey == "remove_groups") {
                    if (auto b = boolean(file, tv, tk, tkey)) lc.termination_remove_groups = *b;
                  } else if (tkey == "move_to") {
                    if (auto s = scalar(file, tv, tk, tkey)) lc.termination_move_to = *s;
                  } else if (tkey == "delete_after_days") {
                    if (tv.IsScalar() && tv.Scalar() == "never") {
                      lc.delete_after_days = -1;
                    } else if (auto n = integer(file, tv, tk, tkey, 0)) {
                      lc.delete_after_days = *n;
                    }
                  }
                });
          }
        });
  }

  void parse_password(const SourceFile& file, const YAML::Node& v, const YAML::Node& k) {
    if (!v.IsMap()) {
      sink_.error(file, mark_of(v, k), "'password' must be a map",
                  "e.g. password: { initial: true }");
      return;
    }
    PasswordPolicy& pw = policy_->password_;
    for_each_key(file, v, kPasswordKeys, "password key",
                 [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
                   if (key == "initial") {
                     if (auto b = boolean(file, vv, kk, key)) pw.initial = *b;
                     pw.file = file.display;
                     pw.line = kk.Mark().line + 1;
                     pw.column = kk.Mark().column + 1;
                   } else if (auto s = choice(file, vv, kk, key, {"file", "none"})) {
                     pw.deliver = *s;
                   }
                 });
  }

  // Checked against the roles once every file is read (finish()).
  void parse_release_groups(const SourceFile& file, const YAML::Node& v, const YAML::Node& k) {
    const auto names = string_list(file, v, k, "release_groups");
    if (!v.IsSequence()) return;
    std::size_t i = 0;
    for (const auto& item : v) {
      if (!item.IsScalar() || item.Scalar().empty()) continue;
      released_.push_back({names.at(i++), &file, item.Mark()});
    }
  }

  void parse_brake(const SourceFile& file, const YAML::Node& v, const YAML::Node& k) {
    if (!v.IsMap()) {
      sink_.error(file, mark_of(v, k), "'brake' must be a map",
                  "e.g. brake: { disable: over_threshold, remove_member: policy_change }");
      return;
    }
    BrakePolicy& b = policy_->brake_;
    for_each_key(file, v, kBrakeKeys, "brake key",
                 [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
                   std::vector<std::string> names;
                   for (HoldRule r : kHoldRules) names.emplace_back(to_string(r));
                   auto s = choice(file, vv, kk, key, names);
                   if (!s) return;
                   HoldRule r = HoldRule::OverThreshold;
                   for (HoldRule x : kHoldRules)
                     if (to_string(x) == *s) r = x;
                   if (key == "disable") b.disable = r;
                   if (key == "remove_member") b.remove_member = r;
                   if (key == "move") b.move = r;
                   if (key == "delete") b.del = r;
                 });
  }

  // -- cross-file checks and compilation ---------------------------------------------------------
  void finish() {
    const SourceFile& first = files_.front();
    // A file that did not parse may hold the missing sections; do not guess.
    if (!section_origin_.count("version") && !unparsed_) {
      sink_.error(first, YAML::Mark(), "the policy has no 'version'",
                  "add 'version: 1' at the top of one policy file");
    }
    if (!has_username_ && !unparsed_) {
      sink_.error(first, YAML::Mark(), "the policy has no 'username' section",
                  "add username: { candidates: [...] }");
    }
    // Attribute slots: base attributes first, then names only roles define.
    std::map<std::string, int> slot;
    auto& defs = policy_->attributes_;
    for (auto& a : attributes_) {
      slot[a.name] = static_cast<int>(defs.size());
      defs.push_back({a.name, std::nullopt, {}});
    }
    for (auto& r : roles_) {
      for (auto& [name, t] : r.attributes) {
        if (!slot.count(name)) {
          slot[name] = static_cast<int>(defs.size());
          defs.push_back({name, std::nullopt, {}});
        }
      }
    }
    // Resolve every template's variables; collect dependencies for ordering.
    const int n_attr = static_cast<int>(defs.size());
    std::vector<std::set<int>> deps(static_cast<std::size_t>(n_attr) + 1);  // last = username
    std::vector<std::string> locations(static_cast<std::size_t>(n_attr) + 1);
    const auto node_of = [&](int i) { return i < 0 ? n_attr : i; };
    for (auto& a : attributes_) {
      const int i = slot[a.name];
      resolve(a.base, TemplateUse::Attribute, a.name, slot, deps[node_of(i)]);
      locations[i] = where(*a.base.file, a.base.mark);
      defs[i].base = std::move(a.base.value);
    }
    for (std::size_t r = 0; r < roles_.size(); ++r) {
      for (auto& [name, t] : roles_[r].attributes) {
        const int i = slot[name];
        resolve(t, TemplateUse::Attribute, name, slot, deps[node_of(i)]);
        if (locations[i].empty()) locations[i] = where(*t.file, t.mark);
        defs[i].overrides.push_back({r, std::move(t.value)});
      }
    }
    // A target's own values run after every attribute, so they may read any, their own name
    // included (the account's value): nothing to order.
    std::set<int> after_everything;
    auto target_definition = [&](const std::string& target,
                                 const std::string& name) -> TargetAttributeDefinition& {
      auto& defs = policy_->target_attributes_[target];
      auto it = std::find_if(defs.begin(), defs.end(),
                             [&](const TargetAttributeDefinition& d) { return d.name == name; });
      if (it != defs.end()) return *it;
      defs.push_back({name, std::nullopt, {}});
      return defs.back();
    };
    for (auto& a : target_attributes_) {
      resolve(a.value, TemplateUse::Attribute, "", slot, after_everything);
      target_definition(a.target, a.name).base = std::move(a.value.value);
    }
    for (std::size_t r = 0; r < roles_.size(); ++r)
      for (auto& a : roles_[r].target_attributes) {
        resolve(a.value, TemplateUse::Attribute, "", slot, after_everything);
        target_definition(a.target, a.name).overrides.push_back({r, std::move(a.value.value)});
      }
    bool counted = false;
    for (auto& c : candidates_) {
      resolve(c, TemplateUse::Candidate, "", slot, deps[n_attr]);
      const bool uses_n = c.value.uses(VarKind::Counter);
      counted = counted || uses_n;
      policy_->username_.counted.push_back(uses_n);
      policy_->username_.candidates.push_back(std::move(c.value));
    }
    if (has_candidates_ && candidates_ok_ && !candidates_.empty() && !counted) {
      sink_.error(*username_file_, candidates_mark_,
                  "no username candidate uses {{ n }}, so the ladder can run out of names",
                  "add a last candidate with a counter, e.g. \"{{ worker.firstName | first(1) }}"
                  "{{ worker.lastName }}{{ n }}\"");
    }
    locations[n_attr] = has_username_ ? where(*username_file_, username_mark_) : "";
    order(deps, locations, n_attr);

    for (auto& r : roles_) {
      for (const auto& [target, groups] : r.def.target_groups)
        policy_->target_groups_[target].insert(groups.begin(), groups.end());
      for (const auto& g : r.def.groups) policy_->managed_groups_.insert(g);
      for (const auto& e : r.def.entitlements) policy_->entitlements_.insert(e);
    }
    // A released group is one no role grants: granting and releasing it at once would add
    // people to it that provisiond then never takes out again.
    for (const auto& rel : released_) {
      const auto granting = std::find_if(roles_.begin(), roles_.end(), [&](const ParsedRole& r) {
        return std::find(r.def.groups.begin(), r.def.groups.end(), rel.group) != r.def.groups.end();
      });
      if (granting != roles_.end()) {
        sink_.error(*rel.file, rel.mark,
                    "group '" + rel.group + "' is granted by role '" + granting->def.name +
                        "' and cannot be released",
                    "remove it from release_groups, or from the role's groups first");
        continue;
      }
      policy_->released_groups_.insert(rel.group);
    }
    auto& groups = policy_->group_names_;
    auto& ents = policy_->entitlement_names_;
    groups.assign(policy_->managed_groups_.begin(), policy_->managed_groups_.end());
    ents.assign(policy_->entitlements_.begin(), policy_->entitlements_.end());
    const auto id = [](const std::vector<std::string>& names, const std::string& n) {
      return static_cast<int>(std::lower_bound(names.begin(), names.end(), n) - names.begin());
    };
    for (auto& r : roles_) {
      for (const auto& g : r.def.groups) r.def.group_ids.push_back(id(groups, g));
      for (const auto& e : r.def.entitlements) r.def.entitlement_ids.push_back(id(ents, e));
      if (r.def.when) assign_slots(*r.def.when);
      policy_->roles_.push_back(std::move(r.def));
    }
    const auto assign = [&](const VarRef& v) { assign_slot(const_cast<VarRef&>(v)); };
    for (auto& a : policy_->attributes_) {
      if (a.base) a.base->for_each_var(assign);
      for (auto& o : a.overrides) o.value.for_each_var(assign);
    }
    for (auto& c : policy_->username_.candidates) c.for_each_var(assign);
    for (auto& [target, defs] : policy_->target_attributes_)
      for (auto& d : defs) {
        if (d.base) d.base->for_each_var(assign);
        for (auto& o : d.overrides) o.value.for_each_var(assign);
      }
    policy_->field_slots_ = slots_.size();
  }

  // Gives every distinct worker field one cache slot.
  void assign_slot(VarRef& v) {
    if (v.kind != VarKind::Worker) return;
    std::string key;
    for (const auto& p : v.path) key += p + '\x1f';
    v.slot = slots_.try_emplace(key, static_cast<int>(slots_.size())).first->second;
  }
  void assign_slots(Condition& c) {
    assign_slot(c.field);
    for (auto& child : c.children) assign_slots(child);
  }

  void resolve(ParsedTemplate& t, TemplateUse use, const std::string& self,
               const std::map<std::string, int>& slot, std::set<int>& deps) {
    const int username_node = static_cast<int>(policy_->attributes_.size());
    t.value.for_each_var([&](VarRef& v) {
      const auto report = [&](std::string message, std::string hint) {
        sink_.error_in_scalar(*t.file, t.mark, t.text, v.offset, std::move(message),
                              std::move(hint));
      };
      if (v.name.starts_with("worker.")) {
        v.kind = VarKind::Worker;
        std::string rest = v.name.substr(7);
        std::size_t start = 0;
        while (true) {
          const std::size_t dot = rest.find('.', start);
          v.path.push_back(rest.substr(start, dot == std::string::npos ? dot : dot - start));
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
        return;
      }
      if (v.name == "worker") {
        report("'worker' alone is not a value", "name a field, e.g. {{ worker.lastName }}");
        return;
      }
      if (v.name == "username") {
        if (use == TemplateUse::Candidate) {
          report("a username candidate cannot use {{ username }}",
                 "build candidates from worker fields and {{ n }}");
          return;
        }
        v.kind = VarKind::Username;
        deps.insert(username_node);
        return;
      }
      if (v.name == "n") {
        if (use != TemplateUse::Candidate) {
          report("{{ n }} is only available in username candidates",
                 "use {{ username }} to refer to the chosen name");
          return;
        }
        v.kind = VarKind::Counter;
        return;
      }
      if (auto fact = fact_by_name(v.name)) {
        v.kind = VarKind::Fact;
        v.fact = *fact;
        return;
      }
      if (const auto it = slot.find(v.name); it != slot.end()) {
        if (v.name == self) {
          report("attribute '" + self + "' refers to itself", "use worker fields instead");
          return;
        }
        v.kind = VarKind::Attribute;
        v.index = it->second;
        deps.insert(it->second);
        return;
      }
      std::vector<std::string> known = {"username", "isManager", "tenureDays", "daysUntilStart"};
      if (use == TemplateUse::Candidate) known.push_back("n");
      for (const auto& [name, i] : slot) known.push_back(name);
      const std::string guess = closest(v.name, known);
      report("unknown variable '" + v.name + "'",
             guess.empty() ? "HR fields are written worker." + v.name +
                                 "; other names: username, n (candidates only), attribute names, "
                                 "isManager, tenureDays, daysUntilStart"
                           : "did you mean '" + guess + "'?");
    });
  }

  // Orders attributes and the username so every template runs after what it reads; reports
  // cycles.
  void order(const std::vector<std::set<int>>& deps, const std::vector<std::string>& locations,
             int username_node) {
    const auto count = deps.size();
    std::vector<int> state(count, 0);  // 0 new, 1 on stack, 2 done
    std::vector<int> stack;
    bool cycle_reported = false;
    const auto name_of = [&](int i) {
      return i == username_node ? std::string("username")
                                : policy_->attributes_[static_cast<std::size_t>(i)].name;
    };
    std::function<void(int)> visit = [&](int i) {
      state[i] = 1;
      stack.push_back(i);
      for (int d : deps[i]) {
        if (state[d] == 1) {
          if (!cycle_reported) {
            cycle_reported = true;
            std::string path;
            const auto from = std::find(stack.begin(), stack.end(), d);
            for (auto it = from; it != stack.end(); ++it) path += name_of(*it) + " -> ";
            path += name_of(d);
            if (!locations[d].empty())
              report_at(locations[d], "templates depend on each other in a cycle: " + path,
                        "break the cycle by building one of them from worker fields");
          }
        } else if (state[d] == 0) {
          visit(d);
        }
      }
      stack.pop_back();
      state[i] = 2;
      policy_->order_.push_back(i == username_node ? -1 : i);
    };
    for (int i = 0; i < static_cast<int>(count); ++i) {
      if (state[i] == 0) visit(i);
    }
  }

  // Reports at a "file:line:column" location string produced by where().
  void report_at(const std::string& location, std::string message, std::string hint) {
    PolicyDiagnostic d;
    const auto c2 = location.rfind(':');
    const auto c1 = location.rfind(':', c2 - 1);
    d.file = location.substr(0, c1);
    d.line = std::stoi(location.substr(c1 + 1, c2 - c1 - 1));
    d.column = std::stoi(location.substr(c2 + 1));
    d.message = std::move(message);
    d.hint = std::move(hint);
    sink_.diagnostics().push_back(std::move(d));
  }

  std::shared_ptr<CompiledPolicy> policy_;
  DiagnosticSink sink_;
  std::deque<SourceFile> files_;
  std::map<std::string, std::string> section_origin_;
  std::map<std::string, std::string> attribute_origin_;
  std::map<std::string, std::string> role_origin_;
  std::vector<ParsedAttribute> attributes_;
  std::vector<ParsedTargetAttribute> target_attributes_;  // the policy's `targets:`
  std::map<std::string, std::string> target_attribute_origin_;  // target \0 name → where
  std::vector<ParsedRole> roles_;
  std::vector<ParsedTemplate> candidates_;
  bool candidates_ok_ = true;
  bool unparsed_ = false;
  bool has_username_ = false;
  bool has_candidates_ = false;
  YAML::Mark username_mark_;
  YAML::Mark candidates_mark_;
  const SourceFile* username_file_ = nullptr;
  struct Released {
    std::string group;
    const SourceFile* file;
    YAML::Mark mark;
  };
  std::vector<Released> released_;
  std::map<std::string, int> slots_;
};

std::shared_ptr<const CompiledPolicy> load_policy(const std::filesystem::path& path) {
  PolicyLoader loader;
  return loader.load(path);
}

}  // namespace policy
}  // namespace prov
