#include "prov/uploaded_policy.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "prov/crypto.h"

namespace prov {
namespace fs = std::filesystem;
namespace {

// The folder the upload is written to, removed whatever happens: a candidate may hold names
// and rules nobody should find in /tmp afterwards.
class PrivateFolder {
 public:
  PrivateFolder() {
    std::string pattern = (fs::temp_directory_path() / "prov-what-if-XXXXXX").string();
    // mkdtemp makes the folder 0700: no other user can read the candidate while it is loaded.
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cannot make a private folder for the candidate policy: " +
                               std::string(std::strerror(errno)));
    path_ = pattern;
  }
  ~PrivateFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  PrivateFolder(const PrivateFolder&) = delete;
  PrivateFolder& operator=(const PrivateFolder&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_private(const fs::path& file, const std::string& text) {
  const mode_t old = umask(0077);  // 0600 from the start, not chmod'ed after the write
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  umask(old);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write the candidate policy file " + file.string());
}

std::string digest_of(const std::map<std::string, std::string>& files) {
  std::string input;
  for (const auto& [name, text] : files) input += name + '\0' + text + '\0';
  return sha256_hex(input);
}

}  // namespace

std::string uploaded_names_problem(const std::map<std::string, std::string>& files) {
  if (files.empty()) return "send at least one policy file";
  for (const auto& [name, text] : files) {
    const bool yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    if (!yaml || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
        name.front() == '.' || name.find('\0') != std::string::npos)
      return "file names must be plain names ending in .yaml or .yml (not '" + name + "')";
  }
  return {};
}

UploadedPolicy load_uploaded_policy(const std::map<std::string, std::string>& files,
                                    const Config& config) {
  UploadedPolicy out;
  out.digest = digest_of(files);
  PrivateFolder folder;
  for (const auto& [name, text] : files) write_private(folder.path() / name, text);
  // The loader names files by the path it read; the caller knows them by the names it sent.
  const std::string prefix = folder.path().string() + "/";
  const auto as_uploaded = [&](std::vector<PolicyDiagnostic> found) {
    for (auto& d : found) {
      if (d.file.starts_with(prefix)) d.file.erase(0, prefix.size());
      out.diagnostics.push_back(std::move(d));
    }
  };
  std::shared_ptr<const Policy> policy;
  try {
    policy = Policy::load(folder.path());
  } catch (const PolicyLoadError& e) {
    as_uploaded(e.diagnostics());
    return out;
  }
  std::vector<std::string> targets;
  for (const auto& t : config.targets) targets.push_back(t.name);
  // Both checks a reload makes, all their diagnostics at once: the uploader fixes every one
  // in one round.
  as_uploaded(unknown_targets(*policy, targets));
  as_uploaded(undeliverable_passwords(*policy, targets_without_password_folder(config.targets)));
  if (out.diagnostics.empty()) out.policy = std::move(policy);
  return out;
}

}  // namespace prov
