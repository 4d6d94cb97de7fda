// The daemon's retention thread. It shares the write turn with the ingest writer and the engine
// one batch at a time (compact() commits each batch on its own), so a pass over millions of old
// rows delays an acknowledgement by one batch at most, never by the whole pass.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "prov/log.h"
#include "prov/metrics.h"
#include "prov/store.h"
#include "prov/thread_name.h"

namespace prov {
namespace {

class PeriodicRetention final : public RetentionRunner {
 public:
  PeriodicRetention(std::filesystem::path path, RetentionConfig retention,
                    std::function<void(const CompactReport&)> on_pass)
      : path_(std::move(path)), retention_(std::move(retention)), on_pass_(std::move(on_pass)) {
    if (retention_.days == 0 && retention_.audit_days == 0) return;  // keeps everything
    thread_ = std::thread([this] {
      name_this_thread("prov-retention");
      run();
    });
  }
  ~PeriodicRetention() override { stop(); }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    std::lock_guard join(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_ptr<Store> store;
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      pass(store);
      lock.lock();
      cv_.wait_for(lock, retention_.interval, [this] { return stopping_; });
    }
  }

  void pass(std::unique_ptr<Store>& store) {
    CompactReport report;
    try {
      if (!store) store = Store::open(path_);
      report = store->compact(retention_, SystemClock().now());
    } catch (const std::exception& e) {
      // Disk full, an export file that cannot be written: nothing past the failed batch was
      // deleted; the next interval tries again with a fresh connection.
      store.reset();
      log::error("retention pass failed", {{"error", e.what()}});
      return;
    }
    auto& m = Metrics::global();
    m.inc("provisiond_retention_deleted_total", {{"table", "inbox"}},
          static_cast<double>(report.events_deleted));
    m.inc("provisiond_retention_deleted_total", {{"table", "outbox"}},
          static_cast<double>(report.operations_deleted));
    m.inc("provisiond_retention_deleted_total", {{"table", "audit"}},
          static_cast<double>(report.audit_deleted));
    if (report.events_deleted + report.operations_deleted + report.audit_deleted > 0) {
      log::info("retention pass", {{"events_deleted", std::to_string(report.events_deleted)},
                                   {"operations_deleted",
                                    std::to_string(report.operations_deleted)},
                                   {"audit_exported", std::to_string(report.audit_exported)},
                                   {"audit_deleted", std::to_string(report.audit_deleted)},
                                   {"transactions", std::to_string(report.transactions)}});
    }
    if (on_pass_) on_pass_(report);
  }

  const std::filesystem::path path_;
  const RetentionConfig retention_;
  std::function<void(const CompactReport&)> on_pass_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<RetentionRunner> RetentionRunner::start(
    const std::filesystem::path& db_path, const RetentionConfig& retention,
    std::function<void(const CompactReport&)> on_pass) {
  Metrics::global().describe("provisiond_retention_deleted_total", "counter",
                             "Rows state.retention deleted, by table (inbox, outbox, audit).");
  return std::make_unique<PeriodicRetention>(db_path, retention, std::move(on_pass));
}

}  // namespace prov
