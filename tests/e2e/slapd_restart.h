#pragma once
// Directory outages for the reliability and end-to-end tests. The harness can start a fresh server and stop it,
// but a restart must keep the data and the ports: this runs the same slapd binary again with the
// configuration, data folder and listener URLs the harness wrote, exactly as an operator's
// `systemctl start slapd` would after a crash or maintenance.
#include "harness/slapd_fixture.h"

namespace prov::testing {

// Starts slapd again in `info.dir` on the same URLs, after Slapd::stop(). Waits until it answers
// a search; throws std::runtime_error when it does not within 15 s.
void restart_slapd(const SlapdInfo& info);

// Stops a server started by restart_slapd (the Slapd object no longer owns it).
void stop_restarted_slapd(const SlapdInfo& info);

}  // namespace prov::testing
