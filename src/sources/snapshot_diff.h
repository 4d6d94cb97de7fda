#pragma once
// The heart of a full-snapshot source: a list of worker records compared with the stored worker
// records becomes the HR events that would have brought the store to the snapshot. Pure: no I/O,
// no clock; the same inputs always give the same events (and the same event ids, so re-reading an
// unchanged snapshot only produces duplicates the inbox ignores).
#include <cstddef>
#include <string>
#include <vector>

#include "prov/model.h"

namespace prov {

// A stored worker together with the source of the event last applied to it ("webhook",
// "poll:<name>", "file:<name>"; empty when unknown).
struct KnownWorker {
  Worker worker;
  std::string last_source;
};

struct SnapshotContext {
  std::string source;         // "poll:<name>" or "file:<name>": event ids and `source` carry it
  TimePoint snapshot_time{};  // effective_at of every event
  TimePoint received_at{};
  bool missing_means_terminated = false;
  std::string timezone = "UTC";  // engine.timezone: a plain terminationDate is midnight there
                                 // (or in the record's own timeZone)
};

// A record that produced no event because it cannot be trusted.
struct SkippedRecord {
  std::size_t index = 0;  // 0-based position in the snapshot
  std::string worker_id;  // empty when the record names none
  std::string reason;     // "lastName is required"
};

struct SnapshotDiff {
  std::vector<HrEvent> events;
  std::vector<SkippedRecord> skipped;
  std::size_t unchanged = 0;           // present and equal to the stored record
  std::size_t already_terminated = 0;  // unknown workers whose record is already terminated
  std::size_t missing = 0;             // from this source, active, absent from the snapshot
  // Set when missing workers were not terminated although the source says missing means
  // terminated, because the snapshot could not be trusted to be complete.
  std::string terminations_withheld;
};

// Rules (docs/hr-sources.md):
//  - unknown worker → HIRE (unless its terminationDate has passed: nothing to provision);
//  - known worker whose HR fields differ (keys starting with "_" are the engine's and ignored)
//    → CHANGE; a terminationDate that has passed → TERMINATION;
//  - terminated or deleted worker present and not terminated in the record → REHIRE
//    (a rescinded hire → HIRE);
//  - worker not terminated, last changed by this very source, absent from the snapshot →
//    TERMINATION only when missing_means_terminated, and never when a record could not be
//    identified or the snapshot holds no usable record (it may be truncated);
//  - records without workerId/firstName/lastName are skipped and reported; a worker whose record
//    was skipped still counts as present.
// event_id = "<source>:<workerId>:<first 16 hex of sha256 over type, record and the stored event
// diffed against>"; body_sha256 covers everything but the times, so re-reading is a Duplicate.
SnapshotDiff diff_snapshot(const std::vector<Json>& records, const std::vector<KnownWorker>& known,
                           const SnapshotContext& context);

// The record as compared and stored: keys starting with "_" and null values removed, a numeric
// workerId written as a string.
Json canonical_record(const Json& record);

}  // namespace prov
