#pragma once
// systemd readiness notification (Type=notify) without linking libsystemd: one datagram to
// $NOTIFY_SOCKET. A no-op when not started by systemd.
#include <string>

namespace prov {
void sd_notify_state(const std::string& state);  // "READY=1", "STOPPING=1", "STATUS=..."
}
