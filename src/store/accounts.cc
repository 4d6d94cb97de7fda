// Accounts: what the planner expects (planned) and what the directory confirmed (applied).
#include "store/sqlite_store.h"

namespace prov {

Json account_to_json(const Account& a) {
  return Json{{"workerId", a.worker_id},
              {"anchor", a.anchor},
              {"dn", a.dn},
              {"username", a.username},
              {"ou", a.ou},
              {"exists", a.exists},
              {"enabled", a.enabled},
              {"attributes", a.attributes},
              {"groups", a.groups},
              {"granted", a.granted}};
}

Account account_from_json(const Json& j, std::string_view where) {
  try {
    Account a;
    a.worker_id = j.value("workerId", "");
    a.anchor = j.value("anchor", "");
    a.dn = j.value("dn", "");
    a.username = j.value("username", "");
    a.ou = j.value("ou", "");
    a.exists = j.value("exists", true);
    a.enabled = j.value("enabled", true);
    if (j.contains("attributes")) {
      a.attributes = j.at("attributes").get<std::map<std::string, std::string>>();
    }
    if (j.contains("groups")) a.groups = j.at("groups").get<std::set<std::string>>();
    if (j.contains("granted")) a.granted = j.at("granted").get<std::set<std::string>>();
    return a;
  } catch (const Json::exception& e) {
    throw StoreError("unreadable account in " + std::string(where) + ": " + e.what());
  }
}

namespace {

std::string dump_account(const Account& a) {
  try {
    return account_to_json(a).dump();
  } catch (const Json::exception& e) {
    throw StoreError("account of worker " + a.worker_id + " cannot be stored as JSON: " + e.what());
  }
}

constexpr std::string_view kSelectAccount =
    "SELECT worker_id, planned, applied, target FROM accounts ";

// The target is the row's column, not part of the JSON: rows from before targets have none.
AccountRow read_account(const sql::Query& q) {
  const std::string worker_id = q.text(0);
  const std::string target = q.text(3);
  const std::string where = "accounts row of worker " + worker_id + " in target " + target;
  AccountRow row;
  row.planned = account_from_json(parse_json_column(q.text(1), where), where);
  if (q.is_null(2)) {
    // The directory has confirmed nothing yet: as far as we know there is no account.
    row.applied.worker_id = worker_id;
    row.applied.exists = false;
    row.applied.enabled = false;
  } else {
    row.applied = account_from_json(parse_json_column(q.text(2), where), where);
  }
  row.planned.target = row.applied.target = target;
  return row;
}

// Rows without a name yet store NULL so they stay out of the unique username index.
std::optional<std::string> username_column(const Account& a) {
  if (a.username.empty()) return std::nullopt;
  return a.username;
}

}  // namespace

std::optional<AccountRow> SqliteStore::account(const std::string& target,
                                               const std::string& worker_id) {
  static const std::string sql =
      std::string(kSelectAccount) + "WHERE target = ?1 AND worker_id = ?2";
  auto q = db_.query(sql);
  q.bind_all(target, worker_id);
  if (!q.step()) return std::nullopt;
  return read_account(q);
}

std::optional<AccountRow> SqliteStore::account_by_username(const std::string& username) {
  // The extra terms repeat the partial index's condition: without them SQLite cannot prove a
  // bound name is non-empty, skips accounts_any_username and scans every account.
  static const std::string sql = std::string(kSelectAccount) +
                                 "WHERE username = ?1 AND username IS NOT NULL AND username <> '' LIMIT 1";
  auto q = db_.query(sql);
  q.bind(1, username);
  if (!q.step()) return std::nullopt;
  return read_account(q);
}

void SqliteStore::put_planned(const Account& planned) {
  auto q = db_.query(R"sql(INSERT INTO accounts(worker_id, username, planned, target)
      VALUES (?1, ?2, ?3, ?4)
      ON CONFLICT(target, worker_id) DO UPDATE SET username = excluded.username,
        planned = excluded.planned)sql");
  q.bind(4, planned.target);
  q.bind(1, planned.worker_id);
  if (auto name = username_column(planned)) {
    q.bind(2, *name);
  } else {
    q.bind(2, nullptr);
  }
  q.bind(3, dump_account(planned));
  q.run();
}

void SqliteStore::put_applied(const Account& applied) {
  // A row first seen through the directory (reconcile) starts with planned = applied.
  const std::string json = dump_account(applied);
  auto q = db_.query(R"sql(INSERT INTO accounts(worker_id, username, planned, applied, target)
      VALUES (?1, ?2, ?3, ?3, ?4)
      ON CONFLICT(target, worker_id) DO UPDATE SET applied = excluded.applied)sql");
  q.bind(4, applied.target);
  q.bind(1, applied.worker_id);
  if (auto name = username_column(applied)) {
    q.bind(2, *name);
  } else {
    q.bind(2, nullptr);
  }
  q.bind(3, json);
  q.run();
}

std::vector<AccountRow> SqliteStore::accounts() {
  static const std::string sql = std::string(kSelectAccount) + "ORDER BY worker_id, target";
  auto q = db_.query(sql);
  std::vector<AccountRow> rows;
  while (q.step()) rows.push_back(read_account(q));
  return rows;
}

void SqliteStore::for_each_account(const std::string& target,
                                   const std::function<void(const AccountRow&)>& visit) {
  // Keyset pages in the primary key's order: each page is one index range, however far in.
  static const std::string sql =
      std::string(kSelectAccount) +
      "WHERE (?1 = '' OR target = ?1) AND (target, worker_id) > (?2, ?3) "
      "ORDER BY target, worker_id LIMIT ?4";
  std::string after_target, after_worker;
  for (;;) {
    std::vector<AccountRow> page;
    {
      auto q = db_.query(sql);
      q.bind_all(target, after_target, after_worker, kPageRows);
      while (q.step()) page.push_back(read_account(q));
    }
    for (const auto& row : page) visit(row);
    if (page.size() < static_cast<std::size_t>(kPageRows)) return;
    after_target = page.back().planned.target;
    after_worker = page.back().planned.worker_id;
  }
}

}  // namespace prov
