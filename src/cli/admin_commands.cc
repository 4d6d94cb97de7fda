#include "cli/admin_commands.h"
#include "cli/csv.h"

#include "cli/access.h"

#include <unistd.h>

#include <iomanip>
#include <iostream>

#include "prov/engine.h"
#include "prov/store.h"

namespace prov::cli {
namespace {

Json op_row_json(const OutboxRow& r) {
  Json j = to_json(r.op);
  j["status"] = to_string(r.status);
  j["attempts"] = r.attempts;
  j["created_at"] = format_time(r.created_at);
  if (!r.last_error.empty()) j["last_error"] = r.last_error;
  if (!r.event_id.empty()) j["event_id"] = r.event_id;
  return j;
}

int list_ops(const Config& c, const Args& a, std::ostream& out, OpStatus status,
             const char* empty_text) {
  auto store = Store::open_read_only(c.state_path);
  auto rows = store->operations(status, a.limit > 0 ? a.limit : 1000000);
  if (a.json) {
    Json arr = Json::array();
    for (const auto& r : rows) arr.push_back(op_row_json(r));
    out << arr.dump(2) << "\n";
    return 0;
  }
  if (rows.empty()) {
    out << empty_text << "\n";
    return 0;
  }
  for (const auto& r : rows) {
    out << std::setw(8) << r.op.id << "  " << r.op.target << "  worker " << r.op.worker_id << "  "
        << describe(r.op);
    if (!r.last_error.empty()) out << "  [" << r.last_error << "]";
    out << "\n";
  }
  out << rows.size() << " operation(s)\n";
  return 0;
}

std::vector<std::int64_t> ids_of(const Args& a, std::ostream& err, bool& ok) {
  std::vector<std::int64_t> ids;
  ok = true;
  for (const auto& p : a.positional) {
    try {
      ids.push_back(std::stoll(p));
    } catch (...) {
      err << "not an operation id: " << p << "\n";
      ok = false;
    }
  }
  if (ids.empty() && !a.all) {
    err << "name operation ids, or --all\n";
    ok = false;
  }
  return ids;
}

// One decision through the daemon's API: the daemon records who decided.
int decide(const Config* c, const Args& a, std::ostream& out, std::ostream& err,
           const std::string& path, const char* verb) {
  bool ok;
  auto ids = ids_of(a, err, ok);
  if (!ok) return 2;
  const Json body = ids.empty() ? Json{{"all", true}} : Json{{"ids", ids}};
  const auto answer = call_daemon(a.daemon, c, "POST", path, body, err);
  if (!answer) return 1;
  if (answer->status != 200) {
    err << "provisionctl: provisiond refused: " << problem_detail(*answer) << "\n";
    return 1;
  }
  const Json d = Json::parse(answer->body);
  out << verb << " " << d.value("changed", 0) << " operation(s) as " << d.value("actor", "")
      << "\n";
  const auto unknown = d.value("unknown", std::vector<std::int64_t>{});
  for (auto id : unknown) err << "operation " << id << " is not in the expected state\n";
  return unknown.empty() ? 0 : 1;
}

}  // namespace

int compact(const Config& c, const Args& a, std::ostream& out) {
  const RetentionConfig& r = c.state.retention;
  if (r.days == 0 && r.audit_days == 0) {
    if (a.json) {
      out << Json{{"events_deleted", 0}, {"operations_deleted", 0}, {"audit_exported", 0},
                  {"audit_deleted", 0}, {"transactions", 0}}
                 .dump(2)
          << "\n";
    } else {
      out << "nothing to delete: state.retention keeps everything (set state.retention.days)\n";
    }
    return 0;
  }
  // The daemon may be running: compact() takes the write lock one batch at a time, so it only
  // ever makes the daemon wait for one batch.
  auto store = Store::open(c.state_path);
  const CompactReport n = store->compact(r, SystemClock().now());
  if (a.json) {
    out << Json{{"events_deleted", n.events_deleted},
                {"operations_deleted", n.operations_deleted},
                {"audit_exported", n.audit_exported},
                {"audit_deleted", n.audit_deleted},
                {"transactions", n.transactions}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << "events deleted      " << n.events_deleted << " (applied, received over " << r.days
      << " days ago; receipts kept in the audit)\n"
      << "operations deleted  " << n.operations_deleted << " (done, over " << r.days
      << " days ago)\n";
  if (r.audit_days > 0) {
    out << "audit exported      " << n.audit_exported << " to " << r.audit_export_file.string()
        << "\n"
        << "audit deleted       " << n.audit_deleted << " (over " << r.audit_days
        << " days old)\n";
  } else {
    out << "audit               kept (state.retention.audit_days is not set)\n";
  }
  out << "transactions        " << n.transactions << "\n";
  return 0;
}

int status(const Config& c, const Args& a, std::ostream& out) {
  auto store = Store::open_read_only(c.state_path);
  auto n = store->counts();
  Json j{{"state", c.state_path.string()},
         {"schema_version", store->schema_version()},
         {"inbox_pending", n.inbox_pending},
         {"workers", n.workers},
         {"accounts", n.accounts},
         {"operations", {{"pending", n.ops_pending}, {"held", n.ops_held},
                         {"failed", n.ops_failed}, {"done", n.ops_done}}},
         {"scheduled", n.schedule_pending},
         {"audit_records", n.audit}};
  if (a.json) {
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "state          " << c.state_path.string() << " (schema " << store->schema_version()
      << ")\n"
      << "inbox pending  " << n.inbox_pending << "\n"
      << "workers        " << n.workers << "\n"
      << "accounts       " << n.accounts << "\n"
      << "operations     pending " << n.ops_pending << ", held " << n.ops_held << ", failed "
      << n.ops_failed << ", done " << n.ops_done << "\n"
      << "scheduled      " << n.schedule_pending << "\n"
      << "audit records  " << n.audit << "\n";
  return 0;
}

int held(const Config& c, const Args& a, std::ostream& out) {
  return list_ops(c, a, out, OpStatus::Held, "no operations are held");
}

int failed(const Config& c, const Args& a, std::ostream& out) {
  return list_ops(c, a, out, OpStatus::Failed, "no failed operations");
}

int approve(const Config* c, const Args& a, std::ostream& out, std::ostream& err) {
  return decide(c, a, out, err, "/v1/held/approve", "approved");
}
int reject(const Config* c, const Args& a, std::ostream& out, std::ostream& err) {
  return decide(c, a, out, err, "/v1/held/reject", "rejected");
}
int retry(const Config* c, const Args& a, std::ostream& out, std::ostream& err) {
  return decide(c, a, out, err, "/v1/failed/retry", "re-queued");
}

namespace {

int audit_verify(Store& store, const Args& a, std::ostream& out) {
  const AuditCheck check = store.verify_audit();
  if (a.json) {
    out << Json{{"intact", check.intact},
                {"rows", check.rows},
                {"unchained", check.unchained},
                {"anchor", check.anchor},
                {"head_id", check.head.id},
                {"head_hash", check.head.hash},
                {"broken_id", check.broken_id},
                {"problem", check.problem}}
               .dump(2)
        << "\n";
  } else if (check.intact) {
    out << "audit chain intact: " << check.rows << " rows; head row " << check.head.id << " "
        << check.head.hash << "\n";
    if (!check.anchor.empty())
      out << "  the chain starts after rows removed by retention; its first row follows "
          << check.anchor << " (compare with the anchor logged then)\n";
    if (check.unchained > 0)
      out << "  " << check.unchained << " older rows were written before the chain began\n";
  } else {
    out << "audit chain broken at row " << check.broken_id << ": " << check.problem << " ("
        << check.rows << " rows before it verified)\n";
  }
  return check.intact ? 0 : 1;
}

int audit_export(Store& store, const Args& a, std::ostream& out) {
  const std::string format = a.format.empty() ? "jsonl" : a.format;
  if (format != "jsonl" && format != "csv") {
    std::cerr << "audit export: --format is jsonl or csv, not " << format << "\n";
    return 2;
  }
  TimePoint since{};
  if (!a.since.empty()) {
    auto t = parse_time(a.since);
    if (!t) {
      std::cerr << "audit export: --since wants a time like 2026-11-01 or 2026-11-01T08:00:00Z, "
                   "not "
                << a.since << "\n";
      return 2;
    }
    since = *t;
  }
  if (format == "csv") out << "id,at,worker_id,event_id,op_id,action,detail,prev_hash,hash\n";
  for (const auto& r : store.audit_log(a.worker_id, -1)) {
    if (r.at < since) continue;
    if (format == "csv") {
      out << r.id << ',' << format_time(r.at) << ',' << csv_field(r.worker_id) << ','
          << csv_field(r.event_id) << ',' << r.op_id << ',' << csv_field(r.action) << ','
          << csv_field(r.detail.dump()) << ',' << r.prev_hash << ',' << r.hash << "\n";
      continue;
    }
    Json j{{"at", format_time(r.at)}, {"action", r.action}, {"detail", r.detail}};
    if (r.id) j["id"] = r.id;
    if (!r.worker_id.empty()) j["worker_id"] = r.worker_id;
    if (!r.event_id.empty()) j["event_id"] = r.event_id;
    if (r.op_id) j["op_id"] = r.op_id;
    if (!r.hash.empty()) {
      j["prev_hash"] = r.prev_hash;
      j["hash"] = r.hash;
    }
    out << j.dump() << "\n";
  }
  return 0;
}

}  // namespace

int audit(const Config& c, const Args& a, std::ostream& out) {
  auto store = Store::open_read_only(c.state_path);
  if (!a.positional.empty() && a.positional.front() == "verify") return audit_verify(*store, a, out);
  if (!a.positional.empty() && a.positional.front() == "export") return audit_export(*store, a, out);
  auto rows = store->audit_log(a.worker_id, a.limit > 0 ? a.limit : 1000000);
  for (const auto& r : rows) {
    Json j{{"at", format_time(r.at)}, {"action", r.action}};
    if (!r.worker_id.empty()) j["worker_id"] = r.worker_id;
    if (!r.event_id.empty()) j["event_id"] = r.event_id;
    if (r.op_id) j["op_id"] = r.op_id;
    j["detail"] = r.detail;
    if (a.json) {
      out << j.dump() << "\n";
    } else {
      out << format_time(r.at) << "  " << std::left << std::setw(22) << r.action << std::right
          << " worker=" << (r.worker_id.empty() ? "-" : r.worker_id);
      if (r.detail.contains("summary"))
        out << "  " << r.detail["summary"].get<std::string>();
      else if (r.detail.contains("reason"))
        out << "  " << r.detail["reason"].dump();
      else if (r.detail.contains("message"))
        out << "  " << r.detail["message"].get<std::string>();
      else if (r.detail.contains("type"))
        out << "  " << r.detail["type"].get<std::string>() << " -> "
            << r.detail.value("state", "");
      out << "\n";
    }
  }
  return 0;
}

int entitlements(const Config& c, const Args& a, std::ostream& out, std::ostream& err) {
  if (a.worker_id.empty()) {
    err << "entitlements needs --worker ID\n";
    return 2;
  }
  auto store = Store::open_read_only(c.state_path);
  auto rows = store->entitlements(a.worker_id);
  Json arr = Json::array();
  for (const auto& r : rows) {
    Json j{{"entitlement", r.entitlement}, {"allocated_at", format_time(r.allocated_at)}};
    if (r.released_at) j["released_at"] = format_time(*r.released_at);
    arr.push_back(j);
    if (!a.json)
      out << std::left << std::setw(28) << r.entitlement << " allocated "
          << format_time(r.allocated_at)
          << (r.released_at ? "  released " + format_time(*r.released_at) + "  -> retrieve" : "")
          << "\n";
  }
  if (a.json) out << arr.dump(2) << "\n";
  if (rows.empty() && !a.json) out << "no entitlements recorded for worker " << a.worker_id << "\n";
  return 0;
}

}  // namespace prov::cli
