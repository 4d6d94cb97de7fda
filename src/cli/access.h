#pragma once
// Who runs provisionctl and what it may read to do it.
#include <string>

#include "prov/config.h"

namespace prov::cli {

// The secrets `command` needs: none, except reconcile and commands asked to read the directories
// (`report access --live`), which bind to them. Everything else reads or decides from the state
// database only, so an operator who may read the state but not the daemon's secret files can
// still run it.
ConfigSecrets secrets_needed(const std::string& command, bool reads_directories = false);

// "provisionctl:<name>" for the real user id, from the password database (the numeric id when it
// has no entry). Never from $USER or $SUDO_USER: the environment is whatever the caller says it
// is, and this name goes into the audit trail of `reconcile --apply`. (Approvals, rejections and
// retries go through the daemon, which names the caller itself.)
std::string actor();

}  // namespace prov::cli
