// The connector registry and the explicit registration of the built-in connectors (no static
// initialisers: static archives would drop them).
#include <sstream>
#include <stdexcept>

#include "ldap/ldap_connector.h"
#include "ldap/password_drop.h"
#include "prov/connector.h"
#include "scim/scim_connector.h"
#ifdef PROV_HAVE_AD
#include "ad/ad_connector.h"
#endif

namespace prov {

void ConnectorRegistry::add(const std::string& type, ConnectorFactory factory) {
  if (type.empty()) throw std::invalid_argument("connector type must not be empty");
  if (!factory) throw std::invalid_argument("connector '" + type + "': empty factory");
  if (!factories_.emplace(type, std::move(factory)).second) {
    throw std::invalid_argument("connector type '" + type + "' is already registered");
  }
}

bool ConnectorRegistry::has(const std::string& type) const { return factories_.count(type) > 0; }

std::vector<std::string> ConnectorRegistry::types() const {
  std::vector<std::string> out;
  out.reserve(factories_.size());
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

std::unique_ptr<DirectoryConnector> ConnectorRegistry::create(const DirectoryConfig& config) const {
  auto it = factories_.find(config.type);
  if (it == factories_.end()) {
    std::ostringstream known;
    const char* sep = "";
    for (const auto& [name, factory] : factories_) {
      known << sep << name;
      sep = ", ";
    }
    throw ConfigError("directory.type: unknown type '" + config.type + "' (known: " + known.str() +
                      ")");
  }
  return it->second(config);
}

void register_builtin_connectors(ConnectorRegistry& registry) {
  registry.add("ldap", [](const DirectoryConfig& config) -> std::unique_ptr<DirectoryConnector> {
    return make_ldap_connector(config);
  });
  registry.add("scim", [](const DirectoryConfig& config) -> std::unique_ptr<DirectoryConnector> {
    return make_scim_connector(config);
  });
#ifdef PROV_HAVE_AD
  registry.add("ad", [](const DirectoryConfig& config) -> std::unique_ptr<DirectoryConnector> {
    return make_ad_connector(config);
  });
#endif
}

// Both built-in connectors deliver through PasswordDrop, so one sweep serves either type.
Result<std::size_t> remove_stale_password_files(const DirectoryConfig& config) {
  return ldap::PasswordDrop::remove_stale(config.password_dir);
}

}  // namespace prov
