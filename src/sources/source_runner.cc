#include "sources/source_runner.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <variant>

#include "prov/log.h"
#include "prov/metrics.h"
#include "prov/store.h"
#include "prov/thread_name.h"
#include "sources/file_source.h"
#include "sources/http_source.h"
#include "sources/snapshot_ingest.h"

namespace prov {

using SteadyClock = std::chrono::steady_clock;

struct SnapshotSources::Impl {
  struct Scheduled {
    std::variant<std::unique_ptr<FileSource>, std::unique_ptr<HttpSource>> source;
    std::chrono::seconds interval{900};
    SteadyClock::time_point due{};
  };

  std::filesystem::path state_db;
  std::vector<Scheduled> sources;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;

  void run() {
    std::unique_ptr<Store> store;
    std::unique_lock lock(mu);
    while (!stopping) {
      auto next = std::min_element(sources.begin(), sources.end(),
                                   [](const auto& a, const auto& b) { return a.due < b.due; });
      if (next == sources.end()) return;
      if (cv.wait_until(lock, next->due, [&] { return stopping; })) return;
      if (SteadyClock::now() < next->due) continue;
      lock.unlock();
      poll(*next, store);
      lock.lock();
      // Measured from the end of the poll: a slow endpoint is never hit back to back.
      next->due = SteadyClock::now() + next->interval;
    }
  }

  void poll(Scheduled& s, std::unique_ptr<Store>& store) {
    try {
      if (!store) store = Store::open_read_only(state_db);
      std::visit([&](auto& source) { (void)source->poll(*store); }, s.source);
    } catch (const std::exception& e) {
      // A store that cannot be read is retried at the next interval with a fresh connection.
      store.reset();
      const std::string label = std::visit([](auto& source) { return source->label(); }, s.source);
      Metrics::global().inc("provisiond_snapshot_polls_total",
                            {{"source", label}, {"result", "error"}});
      log::error("snapshot source failed", {{"source", label}, {"reason", e.what()}});
    }
  }
};

SnapshotSources::SnapshotSources(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SnapshotSources::~SnapshotSources() { stop(); }

std::unique_ptr<SnapshotSources> SnapshotSources::start(
    const std::vector<SnapshotSourceConfig>& configs, const std::filesystem::path& state_db,
    IngestSink& sink, const Clock& clock) {
  auto impl = std::make_unique<Impl>();
  impl->state_db = state_db;
  auto& m = Metrics::global();
  m.describe("provisiond_snapshot_polls_total", "counter",
             "Snapshot source readings by source and result (ok, error, rejected).");
  m.describe("provisiond_snapshot_events_total", "counter",
             "Events a snapshot source added to the inbox, by source and event type.");
  const auto now = SteadyClock::now();
  for (const auto& c : configs) {
    Impl::Scheduled s;
    if (c.type == "file") {
      s.source = std::make_unique<FileSource>(c, sink, clock);
    } else if (c.type == "http") {
      s.source = std::make_unique<HttpSource>(c, sink, clock);
    } else {
      throw ConfigError("hr.sources." + c.name + ".type: unknown source type '" + c.type +
                        "' (http or file)");
    }
    s.interval = std::max(c.interval, std::chrono::seconds(1));
    s.due = now;
    log::info("snapshot source started",
              {{"source", source_label(c.type, c.name)},
               {"interval_s", std::to_string(s.interval.count())},
               {"missing_means_terminated", c.missing_means_terminated ? "true" : "false"}});
    impl->sources.push_back(std::move(s));
  }
  Impl* raw = impl.get();
  if (!raw->sources.empty())
    raw->thread = std::thread([raw] {
      name_this_thread("prov-sources");
      raw->run();
    });
  return std::unique_ptr<SnapshotSources>(new SnapshotSources(std::move(impl)));
}

void SnapshotSources::stop() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace prov
