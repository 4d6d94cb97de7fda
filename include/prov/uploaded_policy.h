#pragma once
// A candidate policy that arrives as text (the admin API's what-if, POST /v1/plan) rather than as
// files on disk: loaded by the normal loader and checked against the config's targets as a
// reload checks them, so "valid here" means "a deploy would load it".
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prov/config.h"
#include "prov/policy.h"

namespace prov {

struct UploadedPolicy {
  std::shared_ptr<const Policy> policy;       // null when `diagnostics` is not empty
  std::vector<PolicyDiagnostic> diagnostics;  // file names as uploaded, never a temp path
  // sha256 over the sorted names and contents: what the caller sent, whatever temp folder it was
  // loaded from (Policy::digest() includes the load path, which differs on every upload).
  std::string digest;
};

// Why a set of uploaded file names cannot be loaded ("" when it can): each name must be a plain
// file name ending in .yaml or .yml — no folders, no hidden files — and there must be at least one.
std::string uploaded_names_problem(const std::map<std::string, std::string>& files);

// Writes `files` (name → YAML text) into a fresh private folder (0700, files 0600), loads them
// as one policy and removes the folder. Then checks, as a reload does, that every target a role
// names is in `config` and that initial passwords can be delivered. Never throws for a bad
// policy: problems come back as diagnostics. `files` must pass uploaded_names_problem().
UploadedPolicy load_uploaded_policy(const std::map<std::string, std::string>& files,
                                    const Config& config);

}  // namespace prov
