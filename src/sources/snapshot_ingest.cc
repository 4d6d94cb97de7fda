#include "sources/snapshot_ingest.h"

#include <condition_variable>
#include <memory>
#include <mutex>

#include "prov/log.h"
#include "prov/metrics.h"

namespace prov {
namespace {

// Snapshot events waiting in the ingest writer at a time: enough to fill its transactions, few
// enough that a stalled snapshot leaves little behind it.
constexpr std::size_t kSnapshotWindow = 1000;

// Outlives ingest_snapshot when a sink answers after the wait gave up.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t outstanding = 0;
  std::vector<std::pair<EventType, IngestResult>> results;
};

}  // namespace

std::string source_label(const std::string& type, const std::string& name) {
  return (type == "http" ? "poll:" : "file:") + name;
}

std::vector<KnownWorker> known_workers(Store& store, const std::string& source) {
  std::vector<KnownWorker> out;
  const std::string prefix = source + ":";
  for (auto& w : store.workers()) {
    KnownWorker k{std::move(w), {}};
    if (k.worker.last_event_id.starts_with(prefix)) {
      // An HR system may choose any eventId for a webhook; only the inbox row says who sent it.
      if (auto row = store.event(k.worker.last_event_id)) k.last_source = row->event.source;
    }
    out.push_back(std::move(k));
  }
  return out;
}

SnapshotReport ingest_snapshot(const std::vector<Json>& records, Store& store, IngestSink& sink,
                               const SnapshotContext& ctx, std::chrono::milliseconds wait) {
  SnapshotReport report;
  report.records = records.size();
  report.diff = diff_snapshot(records, known_workers(store, ctx.source), ctx);

  for (const auto& s : report.diff.skipped) {
    log::warn("snapshot record skipped", {{"source", ctx.source},
                                          {"record", std::to_string(s.index)},
                                          {"worker_id", s.worker_id},
                                          {"reason", s.reason}});
  }
  if (!report.diff.terminations_withheld.empty()) {
    log::error("missing workers not terminated", {{"source", ctx.source},
                                                  {"missing", std::to_string(report.diff.missing)},
                                                  {"reason", report.diff.terminations_withheld}});
  }

  // Handed over as bulk events, a window at a time: the writer fits them around webhooks and
  // stops them at half its high-water mark, so a large snapshot moves at the engine's pace and
  // never holds the queue or the inbox's room. `wait` bounds a stall (the engine stuck, the inbox
  // full), not the whole snapshot, which at a first load of 100,000 people takes minutes.
  auto pending = std::make_shared<Pending>();
  const auto& events = report.diff.events;
  std::size_t next = 0;
  std::unique_lock lock(pending->mu);
  for (;;) {
    while (next < events.size() && pending->outstanding < kSnapshotWindow) {
      ++pending->outstanding;
      const HrEvent& event = events[next++];
      lock.unlock();  // the sink may answer at once, on this thread
      sink.submit_bulk(event, [pending, type = event.type](IngestResult r) {
        std::lock_guard answered(pending->mu);
        pending->results.emplace_back(type, std::move(r));
        --pending->outstanding;
        pending->cv.notify_all();
      });
      lock.lock();
    }
    if (pending->outstanding == 0) break;  // and nothing left to hand over
    const std::size_t answered = pending->results.size();
    if (!pending->cv.wait_for(lock, wait, [&] { return pending->results.size() != answered; }))
      break;
  }
  // Answers still to come, and events never handed over: the next reading stores them.
  report.not_stored = pending->outstanding + (events.size() - next);
  for (const auto& [type, r] : pending->results) {
    switch (r.status) {
      case IngestStatus::Stored:
        ++report.stored;
        Metrics::global().inc("provisiond_snapshot_events_total",
                              {{"source", ctx.source}, {"type", std::string(to_string(type))}});
        break;
      case IngestStatus::Duplicate:
        ++report.duplicates;
        break;
      case IngestStatus::Conflict:
        ++report.conflicts;
        log::error("snapshot event conflicts with a stored one",
                   {{"source", ctx.source}, {"reason", r.message}});
        break;
      case IngestStatus::Overloaded:
      case IngestStatus::Failed:
        ++report.not_stored;
        log::warn("snapshot event not stored", {{"source", ctx.source}, {"reason", r.message}});
        break;
    }
  }
  lock.unlock();

  return report;
}

}  // namespace prov
