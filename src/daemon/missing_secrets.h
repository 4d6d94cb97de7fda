#pragma once
// provisiond's report of the secret files it could not read: every one of them, each with the
// command that creates it, so a fresh install is configured in one pass.
#include <ostream>
#include <vector>

#include "prov/secret_files.h"

namespace prov {

// Prints nothing when `missing` is empty.
void print_missing_secrets(const std::vector<MissingSecret>& missing, std::ostream& err);

}  // namespace prov
