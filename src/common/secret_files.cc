#include "prov/secret_files.h"

#include "prov/config.h"

namespace prov {
namespace {

thread_local MissingSecrets* collecting = nullptr;

}  // namespace

MissingSecrets::MissingSecrets() : outer_(collecting) { collecting = this; }
MissingSecrets::~MissingSecrets() { collecting = outer_; }

std::string secret_unreadable(const std::string& key, const std::filesystem::path& file,
                              const std::string& message) {
  if (collecting == nullptr) throw ConfigError(message);
  collecting->list_.push_back({key, file, message});
  // Long enough for every check a secret's value passes (a webhook key needs 24 bytes), so the
  // load reaches the next secret; the caller refuses the config before anything could use it.
  return std::string(32, '-');
}

std::string how_to_create(const MissingSecret& m) {
  const std::string file = m.file.string();
  if (m.key.rfind("hr.webhook.", 0) == 0 || m.key.rfind("notifications.webhooks", 0) == 0)
    return "provisionctl secret new webhook " + file;
  if (m.key == "directory.password_file")
    return "provisionctl secret set " + file + "  (the bind DN's password on stdin)\n" +
           "    or a new one: provisionctl secret new bind " + file +
           ", then set it on the bind DN";
  return "provisionctl secret set " + file + "   (the secret on stdin)";
}

}  // namespace prov
