#include "cli/secret_command.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "prov/crypto.h"

namespace prov::cli {
namespace {
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: provisionctl secret new webhook|bind [FILE] [--force]\n"
    "       provisionctl secret set FILE [--force]   (the secret on stdin)\n";

// 32 bytes is what Standard Webhooks issues and above the 24 the verifier requires.
constexpr std::size_t kWebhookKeyBytes = 32;

std::string webhook_secret() {
  std::string key(kWebhookKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return "whsec_" + base64_encode(key);
}

std::string errno_text() { return std::strerror(errno); }

bool write_all(int fd, const std::string& content) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Writes a temporary file of mode 0600 next to `file`, then puts it in place in one step: a
// reader sees the old secret or the new one, never half of one, and never a moment where the
// file is readable by others. Without `force`, link() refuses an existing file atomically.
bool write_secret_file(const fs::path& file, const std::string& content, bool force,
                       std::ostream& err) {
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  std::string temp = (dir / ("." + file.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());  // mode 0600 whatever the umask
  if (fd < 0) {
    err << "secret: cannot create a file in " << dir.string() << ": " << errno_text() << "\n";
    return false;
  }
  const bool written = ::fchmod(fd, 0600) == 0 && write_all(fd, content + "\n") && ::fsync(fd) == 0;
  const std::string write_error = errno_text();
  ::close(fd);
  if (!written) {
    ::unlink(temp.c_str());
    err << "secret: cannot write " << temp << ": " << write_error << "\n";
    return false;
  }
  const int placed =
      force ? ::rename(temp.c_str(), file.c_str()) : ::link(temp.c_str(), file.c_str());
  const int place_errno = errno;
  if (!force || placed != 0) ::unlink(temp.c_str());
  if (placed != 0) {
    if (place_errno == EEXIST)
      err << "secret: " << file.string() << " exists; kept (--force replaces it)\n";
    else
      err << "secret: cannot write " << file.string() << ": " << std::strerror(place_errno) << "\n";
    return false;
  }
  // The new name is durable only once the folder is.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

int cmd_secret(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err) {
  bool force = false;
  std::vector<std::string> words;
  for (const auto& a : args) {
    if (a == "--force")
      force = true;
    else
      words.push_back(a);
  }
  if (words.size() < 2 || words.size() > 3) {
    err << kUsage;
    return 2;
  }
  const std::string& verb = words[0];
  std::string content, what;
  fs::path file;
  if (verb == "new" && words[1] == "webhook") {
    content = webhook_secret();
    file = words.size() == 3 ? words[2] : "/etc/provisiond/webhook.secret";
    what =
        "the webhook signing key; give the HR system the file's content (whsec_...) to sign with";
  } else if (verb == "new" && words[1] == "bind") {
    content = random_password(32);
    file = words.size() == 3 ? words[2] : "/etc/provisiond/bind.secret";
    what = "a new bind password; set it on the directory's bind DN (directory.bind_dn)";
  } else if (verb == "set" && words.size() == 2) {
    content.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r'))
      content.pop_back();
    if (content.empty()) {
      err << "secret set: nothing on stdin; nothing written\n";
      return 1;
    }
    file = words[1];
    what = "the secret from stdin";
  } else {
    err << kUsage;
    return 2;
  }
  if (!write_secret_file(file, content, force, err)) return 1;
  out << "wrote " << file.string() << " (mode 0600): " << what << "\n";
  return 0;
}

}  // namespace prov::cli
