#pragma once
// The admin listener: /healthz (process up), /readyz (able to provision: directory reachable and
// credentials accepted), /metrics (Prometheus text), /v1/status (store counts as JSON).
#include <filesystem>
#include <functional>

#include "prov/engine.h"
#include "prov/http.h"

namespace prov {

struct AdminContext {
  std::function<ExecutorHealth()> health;
  std::filesystem::path state_path;  // status reads open their own read-only connection
};

HttpHandler make_admin_handler(AdminContext context);

}  // namespace prov
