#pragma once
// Hot reload: the policy is re-read on SIGHUP or when a policy file changes. An invalid policy is
// logged with file:line:column and the running one stays in force.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "prov/config.h"
#include "prov/policy.h"

namespace prov {

class PolicyWatch {
 public:
  // `targets`: the config's target names; a policy granting in another is invalid, and so is
  // one asking for initial passwords while a target in `without_password_folder` (their keys)
  // cannot deliver them. `notifications`: where the config delivers; a notification rule it
  // cannot deliver is invalid too.
  PolicyWatch(std::filesystem::path path, std::vector<std::string> targets,
              std::vector<std::string> without_password_folder = {},
              NotificationsConfig notifications = {});
  // True when a policy file was added, removed or modified since the last call.
  bool changed();
  // Loads the policy; nullptr (and the errors logged) when it is invalid.
  std::shared_ptr<const Policy> reload(const std::string& why);

 private:
  std::string fingerprint() const;
  std::filesystem::path path_;
  std::vector<std::string> targets_, without_password_folder_;
  NotificationsConfig notifications_;
  std::string last_;
};

}  // namespace prov
