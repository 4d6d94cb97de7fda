#pragma once
// Where the HR edge hands over events. submit() completes (calls `done`) only after the event is
// committed to the inbox, or when it definitely was not stored. `done` may run on another thread.
#include <functional>
#include <string>
#include <utility>

#include "prov/model.h"

namespace prov {

enum class IngestStatus {
  Stored,      // committed now → 202
  Duplicate,   // same eventId, same body already stored → 200
  Conflict,    // same eventId, different body → 409
  Overloaded,  // inbox over its high-water mark; not stored → 503
  Failed,      // storage error; not stored → 503
};

struct IngestResult {
  IngestStatus status = IngestStatus::Failed;
  std::string message;
  std::int64_t inbox_id = 0;  // Stored / Duplicate: the inbox row
};

class IngestSink {
 public:
  virtual ~IngestSink() = default;
  virtual void submit(HrEvent event, std::function<void(IngestResult)> done) = 0;
  // The same for one event of a bulk source (a full HR snapshot, thousands of events at once):
  // answered the same way, but such events must never take the room or the turn that webhooks
  // need. A sink without that distinction treats them as submit() does.
  virtual void submit_bulk(HrEvent event, std::function<void(IngestResult)> done) {
    submit(std::move(event), std::move(done));
  }
};

}  // namespace prov
