#pragma once
// A drop-folder snapshot source (hr.sources[] type: file). Each pass takes the snapshot files that
// are ready, oldest first, diffs each against the stored workers, submits the events and moves the
// file to <folder>/processed/ — or to <folder>/rejected/ with a <file>.error beside it when the
// file cannot be read as a snapshot.
//
// A file is ready when its name ends in .json or .csv, does not start with '.', and it has not
// been modified for kSettle: writers should write ".name.tmp" and rename it into place, and the
// settle time covers writers that cannot. A file whose events could not all be stored (inbox
// overloaded) stays where it is and is read again next pass; its events are then duplicates.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "prov/clock.h"
#include "prov/config.h"
#include "prov/ingest.h"
#include "prov/result.h"
#include "prov/store.h"

namespace prov {

class FileSource {
 public:
  static constexpr std::chrono::seconds kSettle{2};

  FileSource(SnapshotSourceConfig config, IngestSink& sink, const Clock& clock);

  struct Pass {
    std::vector<std::filesystem::path> processed;  // now in processed/
    std::vector<std::filesystem::path> rejected;   // now in rejected/
    std::vector<std::filesystem::path> retry;      // left in place for the next pass
  };
  // Reads every ready file in the folder. Fails (and moves nothing) when the folder cannot be
  // listed. Not thread-safe; `store` is a connection the caller owns.
  Result<Pass> poll(Store& store);

  const SnapshotSourceConfig& config() const { return config_; }
  const std::string& label() const { return label_; }

 private:
  enum class FileOutcome { Processed, Rejected, Retry };
  FileOutcome take(const std::filesystem::path& file, Store& store);
  void move_to(const std::filesystem::path& file, const std::string& folder,
               const std::string& error);

  SnapshotSourceConfig config_;
  std::string label_;  // file:<name>
  IngestSink& sink_;
  const Clock& clock_;
};

}  // namespace prov
