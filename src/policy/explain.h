#pragma once
// Renders an Evaluation for people (text) and machines (JSON): which roles matched and why the
// others did not, every attribute with the template that produced it, groups and entitlements
// with the roles that grant them, and how the username was chosen.
#include <string>

#include "prov/model.h"
#include "prov/policy.h"

namespace prov::policy {

std::string explain_text(const Policy& policy, const Worker& worker, const Evaluation& evaluation);
Json explain_json(const Policy& policy, const Worker& worker, const Evaluation& evaluation);

}  // namespace prov::policy
