#pragma once
// provisionctl notifications [--failed | --pending | --sent] [--json] [--limit N]: the
// notification outbox, newest first (docs/notifications.md).
#include <iosfwd>

#include "cli/admin_commands.h"

namespace prov::cli {

int notifications(const Config& c, const Args& a, std::ostream& out, std::ostream& err);

}  // namespace prov::cli
