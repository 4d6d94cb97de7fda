#pragma once
// The policy's `notifications:` section: rules that turn audited happenings into mail and
// webhooks (prov/notify.h). Parsed with the rest of the policy, so a mistake is reported with
// file:line:column and a reload with one keeps the running policy.
#include <vector>

#include "policy/source.h"
#include "prov/notify.h"

namespace prov::policy {

// Parses the section `v` (at key `k`) into `out`; every problem goes to `sink`.
void parse_notifications(const SourceFile& file, const YAML::Node& v, const YAML::Node& k,
                         DiagnosticSink& sink, std::vector<NotificationRule>& out);

}  // namespace prov::policy
