#pragma once
// One snapshot from parsed records to committed inbox rows: read the stored workers, diff, submit
// every event to the sink and wait until each one is committed (or definitely not). Shared by the
// file and HTTP sources so both count, log and fail the same way.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "prov/ingest.h"
#include "prov/store.h"
#include "sources/snapshot_diff.h"

namespace prov {

// Stored workers with the source of their last applied event. The source is looked up (one inbox
// read per worker) only for workers whose last event id starts with `source` + ":", which every
// event of that source does; everybody else gets "" or "webhook"-like sources and is never ours.
std::vector<KnownWorker> known_workers(Store& store, const std::string& source);

struct SnapshotReport {
  std::size_t records = 0;
  std::size_t stored = 0;      // new inbox rows
  std::size_t duplicates = 0;  // already in the inbox (an unchanged re-read)
  std::size_t conflicts = 0;   // same id, other body: a bug or a tampered inbox; logged as error
  std::size_t not_stored = 0;  // overloaded, storage error or no answer in time: retry later
  SnapshotDiff diff;
  // Every event was committed (or already there): the snapshot needs no second reading.
  bool complete() const { return not_stored == 0; }
};

// Diffs `records` against `store` and submits the events to `sink` as bulk events, a window at a
// time, until all are answered or no answer came for `wait` (the rest count as not stored). Logs skipped records and withheld terminations; counts
// provisiond_snapshot_events_total{source,type} for stored events. Throws StoreError only when the
// store cannot be read.
SnapshotReport ingest_snapshot(const std::vector<Json>& records, Store& store, IngestSink& sink,
                               const SnapshotContext& context,
                               std::chrono::milliseconds wait = std::chrono::minutes(2));

// "<type>:<name>" as events and logs name a source: poll:<name> for http, file:<name> for file.
std::string source_label(const std::string& type, const std::string& name);

}  // namespace prov
