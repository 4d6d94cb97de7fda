#pragma once
// The admin listener. Open to anyone who can connect: /healthz (process up), /readyz (able to
// provision), /metrics (Prometheus text) — what load balancers, service managers and scrapers
// ask without credentials, and nothing personal. Everything under /v1/ is the admin API
// (docs/admin-api.md): it needs an identity (a bearer token, or the local socket's peer user)
// with the role the endpoint asks for, and every decision is audited with that identity.
#include <filesystem>
#include <functional>
#include <memory>

#include "admin/auth.h"
#include "prov/config.h"
#include "prov/connector.h"
#include "prov/engine.h"
#include "prov/http.h"

namespace prov {

struct AdminContext {
  std::function<ExecutorHealth()> health;
  // Reads open their own read-only connection, decisions a writing one (one transaction each).
  std::filesystem::path state_path;
  Config config;
  std::function<std::shared_ptr<const Policy>()> policy;  // the daemon's current policy
  std::function<void()> wake;                             // after a decision: act on it now
  std::shared_ptr<AdminAuth> auth;
  // A fresh connector to a target, for POST /v1/reconcile; unset: reconcile answers 503.
  std::function<std::unique_ptr<DirectoryConnector>(const DirectoryConfig&)> connector;
};

HttpHandler make_admin_handler(AdminContext context);

}  // namespace prov
