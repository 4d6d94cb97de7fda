#include "cli/notifications_command.h"

#include <ostream>

#include "prov/notify.h"

namespace prov::cli {

int notifications(const Config& c, const Args& a, std::ostream& out, std::ostream& err) {
  std::optional<NotificationStatus> status;
  for (const auto& p : a.positional) {
    if (p == "--failed") {
      status = NotificationStatus::Failed;
    } else if (p == "--pending") {
      status = NotificationStatus::Pending;
    } else if (p == "--sent") {
      status = NotificationStatus::Sent;
    } else {
      err << "notifications: unknown argument " << p << " (--failed, --pending or --sent)\n";
      return 2;
    }
  }
  const auto rows = list_notifications(c.state_path, status, a.limit);
  for (const auto& r : rows) {
    if (a.json) {
      out << to_json(r).dump() << "\n";
      continue;
    }
    out << r.id << "  " << to_string(r.status) << "  " << r.trigger << "  " << r.rule << "  "
        << r.channel << " " << r.destination << "  worker " << r.worker_id << "  attempts "
        << r.attempts;
    if (r.sent_at) out << "  sent " << format_time(*r.sent_at);
    if (!r.last_error.empty()) out << "  error: " << r.last_error;
    out << "\n";
  }
  if (rows.empty() && !a.json)
    out << (status ? "no " + std::string(to_string(*status)) + " notifications"
                   : std::string("no notifications"))
        << "\n";
  return 0;
}

}  // namespace prov::cli
