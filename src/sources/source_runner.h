#pragma once
// Runs every configured snapshot source (hr.sources) on one background thread, each at its own
// interval, the first reading right at start. Stored workers are read through the runner's own
// read-only connection; events go to the same IngestSink as webhooks (the group-commit
// InboxWriter in the daemon), so everything after the inbox is the webhook path.
#include <filesystem>
#include <memory>
#include <vector>

#include "prov/clock.h"
#include "prov/config.h"
#include "prov/ingest.h"

namespace prov {

class SnapshotSources {
 public:
  // Starts the thread. `state_db` must exist (the daemon has opened and migrated it); `sink` and
  // `clock` must outlive the returned object. Throws ConfigError for a source of unknown type.
  static std::unique_ptr<SnapshotSources> start(const std::vector<SnapshotSourceConfig>& sources,
                                                const std::filesystem::path& state_db,
                                                IngestSink& sink, const Clock& clock);
  // Wakes the thread and joins it; a poll in flight finishes first (the HTTP client's timeout
  // bounds it). Idempotent; also run by the destructor.
  void stop();
  ~SnapshotSources();

  SnapshotSources(const SnapshotSources&) = delete;
  SnapshotSources& operator=(const SnapshotSources&) = delete;

 private:
  struct Impl;
  explicit SnapshotSources(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace prov
