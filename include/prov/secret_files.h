#pragma once
// Secret files that could not be read, collected rather than fatal one at a time: a fresh
// install lacks every secret at once, and `provisiond --check-config` should name them all, each
// with the command that creates it, instead of making the admin run it once per file.
#include <filesystem>
#include <string>
#include <vector>

namespace prov {

struct MissingSecret {
  std::string key;             // the config key, e.g. hr.webhook.secret_file
  std::filesystem::path file;  // the file read (or the systemd credential)
  std::string message;  // "<key>: cannot read secret file <file> (<reason>)" or "... is empty"
};

// While an instance lives on a thread, read_secret() on that thread records a secret it cannot
// read and returns a stand-in, so that load_config() goes on to the next one. The stand-in is
// never used: whoever made the collector must refuse the config when list() is not empty.
class MissingSecrets {
 public:
  MissingSecrets();
  ~MissingSecrets();
  MissingSecrets(const MissingSecrets&) = delete;
  MissingSecrets& operator=(const MissingSecrets&) = delete;
  const std::vector<MissingSecret>& list() const { return list_; }

 private:
  friend std::string secret_unreadable(const std::string&, const std::filesystem::path&,
                                       const std::string&);
  std::vector<MissingSecret> list_;
  MissingSecrets* outer_;
};

// read_secret()'s failure: throws ConfigError(message), or, while a
// MissingSecrets collects on this thread, records it and returns a stand-in value.
std::string secret_unreadable(const std::string& key, const std::filesystem::path& file,
                              const std::string& message);

// The provisionctl command that creates the file `m` names, for the admin to run.
std::string how_to_create(const MissingSecret& m);

}  // namespace prov
