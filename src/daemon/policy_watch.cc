#include "daemon/policy_watch.h"

#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

#include "prov/log.h"
#include "prov/metrics.h"
#include "prov/notify.h"

namespace prov {
namespace fs = std::filesystem;

PolicyWatch::PolicyWatch(fs::path path, std::vector<std::string> targets,
                         std::vector<std::string> without_password_folder,
                         NotificationsConfig notifications)
    : path_(std::move(path)),
      targets_(std::move(targets)),
      without_password_folder_(std::move(without_password_folder)),
      notifications_(std::move(notifications)),
      last_(fingerprint()) {}

std::string PolicyWatch::fingerprint() const {
  std::string fp;
  std::error_code ec;
  // The content's hash, not only mtime and size: an edit of the same length within one tick of
  // the file system clock leaves both unchanged. Policy files are small; reading them each
  // second costs nothing.
  auto add = [&](const fs::path& p) {
    auto t = fs::last_write_time(p, ec);
    std::ifstream in(p, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    fp += p.string() + ":" + std::to_string(t.time_since_epoch().count()) + ":" +
          std::to_string(std::hash<std::string>{}(content.str())) + ";";
  };
  if (fs::is_directory(path_, ec)) {
    for (fs::recursive_directory_iterator it(path_, ec), end; it != end; it.increment(ec)) {
      auto ext = it->path().extension();
      if (it->is_regular_file(ec) && (ext == ".yaml" || ext == ".yml")) add(it->path());
    }
  } else {
    add(path_);
  }
  return fp;
}

bool PolicyWatch::changed() {
  auto now = fingerprint();
  if (now == last_) return false;
  last_ = now;
  return true;
}

std::shared_ptr<const Policy> PolicyWatch::reload(const std::string& why) {
  last_ = fingerprint();
  try {
    auto p = Policy::load(path_);
    if (auto unknown = unknown_targets(*p, targets_); !unknown.empty())
      throw PolicyLoadError(std::move(unknown));
    if (auto d = undeliverable_passwords(*p, without_password_folder_); !d.empty())
      throw PolicyLoadError(std::move(d));
    if (auto unknown = undeliverable_rules(*p, notifications_); !unknown.empty())
      throw PolicyLoadError(std::move(unknown));
    log::info("policy loaded", {{"path", path_.string()}, {"why", why}, {"digest", p->digest()}});
    Metrics::global().inc("provisiond_policy_reloads_total", {{"result", "ok"}});
    return p;
  } catch (const PolicyLoadError& e) {
    for (const auto& d : e.diagnostics())
      log::error("policy rejected; the running policy stays in force", {{"error", d.to_string()}});
  } catch (const std::exception& e) {
    log::error("policy rejected; the running policy stays in force", {{"error", e.what()}});
  }
  Metrics::global().inc("provisiond_policy_reloads_total", {{"result", "rejected"}});
  return nullptr;
}

}  // namespace prov
