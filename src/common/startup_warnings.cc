// Insecure choices a config may make on purpose; each is logged once at start-up.
#include "prov/config.h"

namespace prov {
namespace {

// Whether a listen address (host:port) only accepts connections from this machine.
bool is_loopback(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

std::vector<std::string> startup_warnings(const Config& config) {
  std::vector<std::string> out;
  for (const auto& t : config.targets) {
    if (!t.tls.verify)
      out.push_back(t.key +
                    ".tls.verify is false: the directory's certificate is NOT checked; "
                    "anyone on the path can impersonate it");
    if (t.tls.mode == "none" && !is_ldap_family(t.type))
      out.push_back(t.key + ".url is " + t.url +
                    ": the token and personal data cross the network unencrypted");
    else if (t.tls.mode == "none")
      out.push_back(t.key +
                    ".tls.mode is none: bind password and personal data cross the network "
                    "unencrypted");
  }
  if (!is_loopback(config.webhook.listen) && config.webhook.tls_cert_file.empty())
    out.push_back("hr.webhook.listen is " + config.webhook.listen +
                  ", beyond loopback, without TLS: HR events (personal data) arrive "
                  "unencrypted; set hr.webhook.tls or put a TLS proxy on loopback in front");
  if (!is_loopback(config.admin_listen) && config.admin.tls_cert_file.empty())
    out.push_back("admin.listen is " + config.admin_listen +
                  ", beyond loopback, without TLS: admin API tokens and personal data cross the "
                  "network unencrypted; set admin.tls or put a TLS proxy on loopback in front");
  const SmtpConfig& smtp = config.notifications.smtp;
  if (!smtp.url.empty() && smtp.tls == "none")
    out.push_back("notifications.smtp.tls is none: mail (names, usernames, managers) goes to " +
                  smtp.url + " unencrypted" +
                  (smtp.username.empty() ? "" : ", and so does the SMTP password"));
  if (!smtp.url.empty() && smtp.tls != "none" && !smtp.verify)
    out.push_back("notifications.smtp.verify is false: the mail server's certificate is NOT "
                  "checked");
  for (std::size_t i = 0; i < config.notifications.webhooks.size(); ++i)
    if (config.notifications.webhooks[i].url.starts_with("http://"))
      out.push_back("notifications.webhooks[" + std::to_string(i) + "].url is " +
                    config.notifications.webhooks[i].url +
                    ": notifications (personal data) cross the network unencrypted");
  return out;
}

}  // namespace prov
