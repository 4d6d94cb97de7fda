#include "scim/scim_connector.h"

#include <chrono>
#include <set>

#include "prov/ascii.h"
#include "prov/log.h"
#include "scim/http_client.h"
#include "scim/scim_auth.h"
#include "scim/scim_options.h"
#include "scim/scim_values.h"

namespace prov {
namespace {

using scim::HttpCall;
using scim::HttpClient;
using scim::outcome_of;

constexpr const char* kScimJson = "application/scim+json";

class ScimConnector final : public DirectoryConnector {
 public:
  ScimConnector(const DirectoryConfig& config)
      : name_(config.name),
        options_(scim::parse_options(config)),
        credentials_(options_.oauth ? scim::Credentials::client_credentials(*options_.oauth)
                                    : scim::Credentials::fixed(options_.token)) {}

  Capabilities capabilities() const override {
    Capabilities c;
    c.flat = true;
    return c;
  }

  Status connect() override {
    if (!client_) {
      auto made = HttpClient::create(options_.http);
      if (!made.ok()) return made.error();
      client_ = std::move(made.value());
    }
    if (token_checked_) return Status::Ok();
    // The cheapest authenticated request: one User, its id only.
    Json page;
    Outcome o = get("/Users?startIndex=1&count=1&attributes=id", &page);
    if (o.is_ok()) {
      token_checked_ = true;
      return Status::Ok();
    }
    if (o.code == "scim:oauth" && o.kind == Outcome::Kind::Permanent)
      return Error{o.message + " (target " + name_ + "); check its oauth settings", false};
    if (o.code == "scim:401" || o.code == "scim:403")
      return Error{"the SCIM service refused the token of target " + name_ + " (" + o.message +
                       "); replace the token file",
                   false};
    return Error{o.message, o.kind == Outcome::Kind::Retryable};
  }

  Result<std::optional<Account>> find(const Anchor& anchor) override {
    Json user;
    Outcome o = anchor.kind == Anchor::Kind::Username ? user_where("userName", anchor.value, &user)
                : anchor.kind == Anchor::Kind::EmployeeId
                    ? user_where("externalId", anchor.value, &user)
                    : user_by_id(anchor.value, &user);
    if (!o.is_ok()) return Error{o.message, o.kind == Outcome::Kind::Retryable};
    if (user.is_null()) return std::optional<Account>{};
    return std::optional<Account>(account(user));
  }

  // Many names in few requests: the planner asks about a whole group of new names, and one
  // request per name kept it waiting on a slow app. userName is matched without regard to case,
  // as SCIM compares it (RFC 7643 §4.1.1).
  Result<Holders> username_holders(const std::vector<std::string>& names) override {
    constexpr std::size_t kNamesPerRequest = 50;
    Holders out;
    std::vector<std::string> plain;
    for (const auto& name : names) {
      out[name] = std::nullopt;
      if (name.find_first_of("\"\\") == std::string::npos) {
        plain.push_back(name);
        continue;
      }
      auto holder = username_holder(name);  // a filter cannot carry it as it is
      if (!holder.ok()) return holder.error();
      out[name] = holder.value();
    }
    for (std::size_t first = 0; first < plain.size(); first += kNamesPerRequest) {
      const std::size_t last = std::min(plain.size(), first + kNamesPerRequest);
      std::map<std::string, std::string> holder_of;  // lower-cased userName → externalId
      Outcome o = users_where_any("userName", plain, first, last, "userName,externalId",
                                  [&](const Json& r) {
                                    holder_of[ascii_lower(r.value("userName", ""))] =
                                        r.value("externalId", "");
                                  });
      if (!o.is_ok()) return Error{o.message, o.kind == Outcome::Kind::Retryable};
      for (std::size_t k = first; k < last; ++k)
        if (auto it = holder_of.find(ascii_lower(plain[k])); it != holder_of.end())
          out[plain[k]] = it->second;
    }
    return out;
  }

  Outcome apply(const Operation& op) override {
    switch (op.kind) {
      case OpKind::Create:
        return create(op);
      case OpKind::Update:
        return update(op);
      case OpKind::Move: {
        // Placement is a directory notion; a SCIM app has nowhere to move an account to.
        Outcome o = Outcome::ok(op.dn, op.anchor);
        o.already_done = true;
        return o;
      }
      case OpKind::Enable:
        return set_active(op, true);
      case OpKind::Disable:
        return set_active(op, false);
      case OpKind::AddMember:
        return add_member(op);
      case OpKind::RemoveMember:
        return remove_member(op);
      case OpKind::Delete:
        return remove(op);
    }
    return Outcome::permanent("scim:op", "unknown operation");
  }

  // Membership changes of one group travel together (see memberships_together); everything
  // else, and whatever a shared request could not settle, one operation at a time.
  std::vector<Outcome> apply_batch(const std::vector<Operation>& ops) override {
    std::vector<Outcome> out(ops.size());
    std::vector<bool> done(ops.size(), false);
    memberships_together(ops, out, done);
    ask_about_creates(ops);
    for (std::size_t i = 0; i < ops.size(); ++i)
      if (!done[i]) out[i] = apply(ops[i]);
    without_user_.clear();
    return out;
  }

  Status for_each_account(const std::function<void(const Account&)>& visit) override {
    Outcome o = each_page("/Users", "", "GET /Users", [&](const Json& user) {
      visit(account(user));
      return true;
    });
    if (!o.is_ok()) return Error{o.message, o.kind == Outcome::Kind::Retryable};
    return Status::Ok();
  }

 private:
  // One request. Every HTTP answer becomes an Outcome through the error table; `out` receives
  // the parsed body of a 2xx answer (null when it has none).
  Outcome send(const std::string& method, const std::string& target, const Json* body,
               const std::string& if_match, Json* out, const std::string& what) {
    if (!client_)
      if (auto st = connect(); !st.ok())
        return st.error().retryable ? Outcome::retryable("scim:net", st.error().message)
                                    : Outcome::permanent("scim:connect", st.error().message);
    auto token = credentials_->bearer();
    if (!token.ok())
      return token.error().retryable ? Outcome::retryable("scim:oauth", token.error().message)
                                     : Outcome::permanent("scim:oauth", token.error().message);
    // Right after an attempt that found nobody answering, the requests behind it fail at once:
    // a hung service (or a black-holing load balancer) costs a batch one timeout, not one per
    // operation, and a shutdown never waits for more.
    if (std::chrono::steady_clock::now() < unreachable_until_)
      return Outcome::retryable("scim:net", what + ": " + unreachable_reason_);
    HttpCall call{
        method, target, {{"Authorization", "Bearer " + token.value()}, {"Accept", kScimJson}}, {}};
    if (body) {
      call.headers.emplace_back("Content-Type", kScimJson);
      call.body = body->dump();
    }
    if (!if_match.empty()) call.headers.emplace_back("If-Match", if_match);
    auto reply = client_->send(call);
    if (!reply.ok() && reply.error().retryable) {
      // Counted from the end of the attempt, which may have taken the whole timeout.
      unreachable_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      unreachable_reason_ = reply.error().message;
    }
    if (!reply.ok())
      return reply.error().retryable
                 ? Outcome::retryable("scim:net", what + ": " + reply.error().message)
                 : Outcome::permanent("scim:tls", what + ": " + reply.error().message);
    if (reply->status == 401) {
      token_checked_ = false;   // the next connect() checks the token ...
      credentials_->refused();  // ... a new one, when it comes from an OAuth grant
    }
    Outcome o = outcome_of(*reply, what);
    if (o.is_ok() && out) {
      try {
        *out = reply->body.empty() ? Json() : Json::parse(reply->body);
      } catch (const Json::exception&) {
        return Outcome::retryable("scim:body", what + ": the answer is not JSON");
      }
      // The resource's version is meta.version; a server may say it only in the ETag header.
      if (!reply->header("etag").empty() && out->is_object() && version_of(*out).empty())
        (*out)["meta"]["version"] = reply->header("etag");
    }
    return o;
  }

  Outcome get(const std::string& target, Json* out) {
    return send("GET", target, nullptr, {}, out, "GET " + target.substr(0, target.find('?')));
  }

  // The version to send as If-Match when the server offers one (RFC 7644 §3.14).
  static std::string version_of(const Json& resource) {
    if (!resource.is_object() || !resource.contains("meta")) return {};
    return resource["meta"].value("version", "");
  }

  // The resource whose `attribute` is exactly `value`; `out` is null when nobody's is.
  // `query` (default: the look-up filter for attribute = value) may ask for more or less than
  // that; only resources whose attribute is the value count.
  Outcome first_where(const std::string& endpoint, const std::string& attribute,
                      const std::string& value, Json* out, const std::string& query = {}) {
    *out = Json();
    return each_page(endpoint,
                     (query.empty() ? scim::lookup_filter_query(attribute, value) : query) + "&",
                     "GET " + endpoint + " where " + attribute, [&](const Json& r) {
                       // Compared here too: a server that misread the filter must not hand us
                       // someone else. A userName in any case is the same one.
                       const std::string got = r.value(attribute, "");
                       if (attribute == "userName" ? ascii_lower(got) != ascii_lower(value)
                                                   : got != value)
                         return true;
                       *out = r;
                       return false;
                     });
  }

  // Every resource of `endpoint?<query>startIndex=…&count=…`, page after page, until `visit`
  // returns false or the last page (`totalResults`) was seen.
  Outcome each_page(const std::string& endpoint, const std::string& query, const std::string& what,
                    const std::function<bool(const Json&)>& visit) {
    for (long start = 1;;) {
      Json page;
      Outcome o = send("GET",
                       endpoint + "?" + query + "startIndex=" + std::to_string(start) +
                           "&count=" + std::to_string(options_.page_size),
                       nullptr, {}, &page, what);
      if (!o.is_ok()) return o;
      const Json resources = page.value("Resources", Json::array());
      for (const auto& r : resources)
        if (!visit(r)) return o;
      start += static_cast<long>(resources.size());
      if (resources.empty() || start > page.value("totalResults", 0L)) return o;
    }
  }

  // The group named `name` without its member list (a big group's is megabytes), and whether
  // `user_id` is among its members, asked with a filter instead of read from that list. A name
  // or id that a filter cannot carry literally (a quote or backslash) is answered from the
  // whole group instead. `group` is null when there is no such group.
  Outcome group_with(const std::string& name, const std::string& user_id, Json* group,
                     bool* member) {
    *group = Json();
    *member = false;
    auto whole_group = [&] {
      Outcome o = first_where("/Groups", "displayName", name, group);
      *member = o.is_ok() && !group->is_null() && has_member(*group, user_id);
      return o;
    };
    if (name.find_first_of("\"\\") != std::string::npos ||
        user_id.find_first_of("\"\\") != std::string::npos)
      return whole_group();
    const std::string named = "displayName eq " + scim::filter_literal(name);
    auto named_group = [&](const std::string& filter, const std::string& attributes) {
      return first_where("/Groups", "displayName", name, group,
                         "filter=" + scim::percent_encode(filter) + "&" + attributes);
    };
    Outcome o = named_group(
        named + " and members[value eq " + scim::filter_literal(user_id) + "]",
        "attributes=displayName");
    // A server that cannot evaluate that filter (SCIMMY fails it on a group without members):
    // the whole group.
    if (o.kind == Outcome::Kind::Permanent) return whole_group();
    if (!o.is_ok()) return o;
    if (!group->is_null()) {
      *member = true;
      return o;
    }
    return named_group(named, "excludedAttributes=members");
  }

  // The Users whose `attribute` is one of values[first, last), in one filter (`attribute eq "a"
  // or …`), with only `fields`; values a filter cannot carry literally are the caller's to keep
  // out. Servers may answer a look-up in any case; `visit` sees what they said.
  Outcome users_where_any(const std::string& attribute, const std::vector<std::string>& values,
                          std::size_t first, std::size_t last, const std::string& fields,
                          const std::function<void(const Json&)>& visit) {
    std::string filter;
    for (std::size_t k = first; k < last; ++k)
      filter += (k > first ? " or " : "") + attribute + " eq " + scim::filter_literal(values[k]);
    return each_page("/Users",
                     "filter=" + scim::percent_encode(filter) + "&attributes=" + fields + "&",
                     "GET /Users where " + attribute, [&](const Json& r) {
                       visit(r);
                       return true;
                     });
  }

  // A bulk hire's creates ask the app about their workers 50 at a time (`externalId eq "a" or
  // …`): the ones nobody holds are POSTed without a look-up of their own. A worker who has a User
  // (a replay, a rehire) and one the question could not settle go the usual way.
  void ask_about_creates(const std::vector<Operation>& ops) {
    constexpr std::size_t kWorkersPerRequest = 50;
    std::vector<std::string> workers;
    for (const auto& op : ops)
      if (op.kind == OpKind::Create && literal(op.worker_id)) workers.push_back(op.worker_id);
    if (workers.size() < 2) return;
    for (std::size_t first = 0; first < workers.size(); first += kWorkersPerRequest) {
      const std::size_t last = std::min(workers.size(), first + kWorkersPerRequest);
      std::set<std::string> held;
      Outcome o = users_where_any("externalId", workers, first, last, "externalId",
                                  [&](const Json& r) { held.insert(r.value("externalId", "")); });
      if (!o.is_ok()) continue;  // each create asks for itself
      for (std::size_t k = first; k < last; ++k)
        if (!held.count(workers[k])) without_user_.insert(workers[k]);
    }
  }

  // A filter carries these as they are; a quote or backslash sends an operation down the
  // one-at-a-time path, which has its own way with them.
  static bool literal(const std::string& s) { return s.find_first_of("\"\\") == std::string::npos; }

  // A batch's joiners of one group in one PATCH, and its leavers in another, instead of three
  // or four requests per member: a bulk hire puts hundreds of people into the same few groups,
  // and a SCIM app's cost per group request grows with the group. Only changes whose user id is
  // known go this way (the executor passes the id the create returned as the anchor), 50 per
  // request, so a filter never grows past what servers take.
  void memberships_together(const std::vector<Operation>& ops, std::vector<Outcome>& out,
                            std::vector<bool>& done) {
    constexpr std::size_t kMembersPerRequest = 50;
    std::map<std::pair<std::string, bool>, std::vector<std::size_t>> by_group;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Operation& op = ops[i];
      const bool add = op.kind == OpKind::AddMember;
      if ((add || op.kind == OpKind::RemoveMember) && !op.group.empty() && !op.anchor.empty() &&
          literal(op.group) && literal(op.anchor))
        by_group[{op.group, add}].push_back(i);
    }
    for (const auto& [key, members] : by_group) {
      if (members.size() < 2) continue;  // alone: apply() as before
      for (std::size_t first = 0; first < members.size(); first += kMembersPerRequest) {
        const std::vector<std::size_t> part(
            members.begin() + static_cast<std::ptrdiff_t>(first),
            members.begin() + static_cast<std::ptrdiff_t>(std::min(members.size(), first + kMembersPerRequest)));
        if (key.second)
          join_together(ops, key.first, part, out, done);
        else
          leave_together(ops, key.first, part, out, done);
      }
    }
  }

  // The group `name` if any of the users of `part` is among its members; null when none is
  // (or when there is no such group). One filter question, however many users.
  Outcome any_member(const std::vector<Operation>& ops, const std::string& name,
                     const std::vector<std::size_t>& part, Json* group) {
    std::string any;
    for (std::size_t i : part)
      any += (any.empty() ? "" : " or ") + std::string("members[value eq ") +
             scim::filter_literal(ops[i].anchor) + "]";
    const std::string filter = "displayName eq " + scim::filter_literal(name) + " and (" + any + ")";
    return first_where("/Groups", "displayName", name, group,
                       "filter=" + scim::percent_encode(filter) + "&attributes=displayName");
  }

  // Settles every operation of `part` with `o` (Ok: the user's id as DN and anchor).
  static void settle(const std::vector<Operation>& ops, const std::vector<std::size_t>& part,
                     const Outcome& o, bool already, std::vector<Outcome>& out,
                     std::vector<bool>& done) {
    for (std::size_t i : part) {
      out[i] = o.is_ok() ? Outcome::ok(ops[i].anchor, ops[i].anchor) : o;
      out[i].already_done = o.is_ok() && already;
      done[i] = true;
    }
  }

  // What a shared request's failure means for its members: a retryable one is theirs too; a
  // permanent one may be one member's alone (a user the app no longer has), so each is tried
  // on its own.
  static void settle_failure(const std::vector<Operation>& ops, const std::vector<std::size_t>& part,
                             const Outcome& o, std::vector<Outcome>& out, std::vector<bool>& done) {
    if (o.kind == Outcome::Kind::Retryable) settle(ops, part, o, false, out, done);
  }

  // Splits `part` into the users already members of `name` and the others: one question for
  // all of them, and halves of the ones where someone is (a replay), until each is placed.
  Outcome split_by_membership(const std::vector<Operation>& ops, const std::string& name,
                              const std::vector<std::size_t>& part, std::vector<std::size_t>& in,
                              std::vector<std::size_t>& not_in) {
    Json group;
    Outcome o = any_member(ops, name, part, &group);
    if (!o.is_ok()) return o;
    if (group.is_null()) {
      not_in.insert(not_in.end(), part.begin(), part.end());
      return o;
    }
    if (part.size() == 1) {
      in.push_back(part.front());
      return o;
    }
    const auto half = part.begin() + static_cast<std::ptrdiff_t>(part.size() / 2);
    if (o = split_by_membership(ops, name, {part.begin(), half}, in, not_in); !o.is_ok()) return o;
    return split_by_membership(ops, name, {half, part.end()}, in, not_in);
  }

  void join_together(const std::vector<Operation>& ops, const std::string& name,
                     const std::vector<std::size_t>& part, std::vector<Outcome>& out,
                     std::vector<bool>& done) {
    // Members already are not added again: servers that keep duplicates would list them twice.
    std::vector<std::size_t> in, joining;
    Outcome o = split_by_membership(ops, name, part, in, joining);
    if (!o.is_ok()) return settle_failure(ops, part, o, out, done);
    settle(ops, in, o, true, out, done);
    if (joining.empty()) return;
    std::vector<std::string> ids;
    for (std::size_t i : joining) ids.push_back(ops[i].anchor);
    std::string gid;
    if (o = group_id(name, &gid); !o.is_ok()) return settle_failure(ops, joining, o, out, done);
    if (gid.empty()) {
      // Policy groups are created on first use, with their first members.
      Json members = Json::array();
      for (const auto& id : ids) members.push_back({{"value", id}});
      const Json fresh = {{"schemas", Json::array({scim::kGroupSchema})},
                          {"displayName", name},
                          {"members", std::move(members)}};
      o = send("POST", "/Groups", &fresh, {}, nullptr, "create group " + name);
      if (o.is_ok()) return settle(ops, joining, o, false, out, done);
      return settle_failure(ops, joining, o, out, done);  // made meanwhile: apply() joins it
    }
    // As for one member: no If-Match, and the answer is not read.
    const Json patch = scim::patch_members(true, ids);
    o = send("PATCH", "/Groups/" + scim::percent_encode(gid), &patch, {}, nullptr,
             "add " + std::to_string(ids.size()) + " members to " + name);
    if (o.code == "scim:404") group_ids_.erase(name);  // gone or made again: apply() finds it
    if (o.is_ok()) return settle(ops, joining, o, false, out, done);
    settle_failure(ops, joining, o, out, done);
  }

  void leave_together(const std::vector<Operation>& ops, const std::string& name,
                      const std::vector<std::size_t>& part, std::vector<Outcome>& out,
                      std::vector<bool>& done) {
    Json group;
    Outcome o = any_member(ops, name, part, &group);
    if (!o.is_ok()) return settle_failure(ops, part, o, out, done);
    if (group.is_null()) return settle(ops, part, o, true, out, done);  // none is a member
    std::vector<std::string> ids;
    for (std::size_t i : part) ids.push_back(ops[i].anchor);
    const std::string gid = group.value("id", "");
    const Json patch = scim::patch_members(false, ids);
    o = send("PATCH", "/Groups/" + scim::percent_encode(gid), &patch, {}, nullptr,
             "remove " + std::to_string(ids.size()) + " members from " + name);
    // A server that refuses to remove a value that is not there (noTarget) refuses the whole
    // request: then each leaver goes on its own.
    if (o.is_ok()) return settle(ops, part, o, false, out, done);
    settle_failure(ops, part, o, out, done);
  }

  // The id of the group named `name` ("" when there is none), remembered: a group's id does not
  // change, and a PATCH that finds it gone forgets it.
  Outcome group_id(const std::string& name, std::string* id) {
    if (auto it = group_ids_.find(name); it != group_ids_.end()) {
      *id = it->second;
      return Outcome::ok();
    }
    Json group;
    Outcome o = first_where("/Groups", "displayName", name, &group,
                            "filter=" + scim::percent_encode("displayName eq " + scim::filter_literal(name)) +
                                "&excludedAttributes=members");
    if (!o.is_ok()) return o;
    *id = group.is_null() ? "" : group.value("id", "");
    if (!id->empty()) group_ids_[name] = *id;
    return o;
  }

  Outcome user_where(const std::string& attribute, const std::string& value, Json* out) {
    return first_where("/Users", attribute, value, out);
  }

  Outcome user_by_id(const std::string& id, Json* out) {
    Outcome o = get("/Users/" + scim::percent_encode(id), out);
    if (o.code == "scim:404") {
      *out = Json();
      return Outcome::ok();
    }
    return o;
  }

  // The worker's User: by the id we know, else by externalId.
  Outcome locate(const Operation& op, Json* user) {
    if (!op.anchor.empty()) {
      Outcome o = user_by_id(op.anchor, user);
      if (!o.is_ok() || !user->is_null()) return o;
    }
    return user_where("externalId", op.worker_id, user);
  }

  Account account(const Json& user) const {
    Account a = scim::account_from(user, options_.attributes);
    a.target = name_;
    return a;
  }

  static Outcome done(const Json& user, bool already) {
    const std::string id = user.value("id", "");
    Outcome o = Outcome::ok(id, id);
    o.already_done = already;
    return o;
  }

  Outcome create(const Operation& op) {
    const Json wanted = scim::user_resource(op.username, op.worker_id, op.enabled, op.attributes,
                                            options_.attributes);
    Json user;
    // Asked already with the rest of its batch: nobody holds it (see ask_about_creates).
    Outcome o = without_user_.erase(op.worker_id) ? Outcome::ok()
                                                  : user_where("externalId", op.worker_id, &user);
    if (!o.is_ok()) return o;
    if (!user.is_null()) {
      // Created before (a replay after a crash, or a rehire): make it what the create says.
      const std::string id = user.value("id", "");
      Json replaced;
      o = send("PUT", "/Users/" + scim::percent_encode(id), &wanted, version_of(user), &replaced,
               "create: replace user " + id);
      return o.is_ok() ? done(user, true) : o;
    }
    Json created;
    o = send("POST", "/Users", &wanted, {}, &created, "create user " + op.username);
    if (o.is_ok()) {
      log::debug("scim user created", {{"target", name_}, {"worker_id", op.worker_id}});
      return done(created, false);
    }
    if (o.code != "scim:uniqueness") return o;
    // The userName is taken. Ours only if it carries this worker's externalId (a concurrent
    // create); otherwise another account owns the name and we must not touch it.
    Json holder;
    if (Outcome h = user_where("userName", op.username, &holder); !h.is_ok()) return h;
    if (!holder.is_null() && holder.value("externalId", "") == op.worker_id)
      return done(holder, true);
    return Outcome::permanent("scim:uniqueness", "create: userName '" + op.username +
                                                     "' already exists with another owner");
  }

  Outcome update(const Operation& op) {
    Json user;
    Outcome o = locate(op, &user);
    if (!o.is_ok()) return o;
    if (user.is_null())
      return Outcome::permanent("scim:404", "update: no user for worker " + op.worker_id);
    const Json patch = scim::patch_attributes(op.attributes, options_.attributes);
    if (patch["Operations"].empty()) return done(user, true);
    const std::string id = user.value("id", "");
    Json patched;
    o = send("PATCH", "/Users/" + scim::percent_encode(id), &patch, version_of(user), &patched,
             "update user " + id);
    return o.is_ok() ? done(user, false) : o;
  }

  Outcome set_active(const Operation& op, bool active) {
    Json user;
    Outcome o = locate(op, &user);
    if (!o.is_ok()) return o;
    if (user.is_null())
      return Outcome::permanent("scim:404", std::string(active ? "enable" : "disable") +
                                                ": no user for worker " + op.worker_id);
    if (user.value("active", true) == active) return done(user, true);
    const std::string id = user.value("id", "");
    const Json patch = scim::patch_active(active);
    Json patched;
    o = send("PATCH", "/Users/" + scim::percent_encode(id), &patch, version_of(user), &patched,
             std::string(active ? "enable" : "disable") + " user " + id);
    return o.is_ok() ? done(user, false) : o;
  }

  static bool has_member(const Json& group, const std::string& id) {
    for (const auto& m : group.value("members", Json::array()))
      if (m.value("value", "") == id) return true;
    return false;
  }

  Outcome add_member(const Operation& op) {
    if (op.group.empty()) return Outcome::permanent("scim:op", "add_member without a group");
    Json user;
    Outcome o = locate(op, &user);
    if (!o.is_ok()) return o;
    if (user.is_null())
      return Outcome::permanent("scim:404", "add_member: no user for worker " + op.worker_id);
    const std::string id = user.value("id", "");
    for (int attempt = 0; attempt < 2; ++attempt) {
      Json group;
      bool member = false;
      if (o = group_with(op.group, id, &group, &member); !o.is_ok()) return o;
      if (group.is_null()) {
        // Policy groups are created on first use, with their first member.
        const Json fresh = {{"schemas", Json::array({scim::kGroupSchema})},
                            {"displayName", op.group},
                            {"members", Json::array({{{"value", id}}})}};
        Json created;
        o = send("POST", "/Groups", &fresh, {}, &created, "create group " + op.group);
        if (o.is_ok()) return done(user, false);
        if (o.code != "scim:uniqueness") return o;
        continue;  // created concurrently: add the member to it on the second pass
      }
      if (member) return done(user, true);
      const std::string gid = group.value("id", "");
      const Json patch = scim::patch_members(true, id);
      // No If-Match: adding one member cannot undo what another writer changed meanwhile, and a
      // busy group's version changes with every join. The answer (the whole group, on many
      // servers) is not read.
      o = send("PATCH", "/Groups/" + scim::percent_encode(gid), &patch, {}, nullptr,
               "add_member " + op.group);
      return o.is_ok() ? done(user, false) : o;
    }
    return Outcome::retryable("scim:409",
                              "add_member " + op.group + ": group appeared concurrently");
  }

  Outcome remove_member(const Operation& op) {
    if (op.group.empty()) return Outcome::permanent("scim:op", "remove_member without a group");
    Json user, group;
    Outcome o = locate(op, &user);
    if (!o.is_ok()) return o;
    if (user.is_null()) return done(Json{{"id", op.anchor}}, true);  // no user: in no group
    const std::string id = user.value("id", "");
    bool member = false;
    if (o = group_with(op.group, id, &group, &member); !o.is_ok()) return o;
    if (group.is_null() || !member) return done(user, true);
    const std::string gid = group.value("id", "");
    const Json patch = scim::patch_members(false, id);
    // As for add_member: no If-Match, and the answer is not read.
    o = send("PATCH", "/Groups/" + scim::percent_encode(gid), &patch, {}, nullptr,
             "remove_member " + op.group);
    return o.is_ok() ? done(user, false) : o;
  }

  Outcome remove(const Operation& op) {
    Json user;
    Outcome o = locate(op, &user);
    if (!o.is_ok()) return o;
    if (user.is_null()) return done(Json{{"id", op.anchor}}, true);
    const std::string id = user.value("id", "");
    o = send("DELETE", "/Users/" + scim::percent_encode(id), nullptr, version_of(user), nullptr,
             "delete user " + id);
    if (o.code == "scim:404") return done(user, true);  // gone between our read and the delete
    return o.is_ok() ? done(user, false) : o;
  }

  std::string name_;
  scim::ScimOptions options_;
  std::unique_ptr<scim::Credentials> credentials_;
  std::unique_ptr<HttpClient> client_;
  bool token_checked_ = false;
  std::map<std::string, std::string> group_ids_;  // displayName → id, see group_id()
  std::set<std::string> without_user_;  // workers of this batch the app has no User for
  std::chrono::steady_clock::time_point unreachable_until_{};  // see send()
  std::string unreachable_reason_;
};

}  // namespace

std::unique_ptr<DirectoryConnector> make_scim_connector(const DirectoryConfig& config) {
  return std::make_unique<ScimConnector>(config);
}

}  // namespace prov
