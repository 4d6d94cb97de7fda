// The notifier and sender on one thread of their own in the daemon.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "prov/log.h"
#include "prov/metrics.h"
#include "prov/notify.h"
#include "prov/policy.h"
#include "prov/thread_name.h"

namespace prov {
namespace {

class ThreadRunner final : public NotifyRunner {
 public:
  ThreadRunner(const std::filesystem::path& path, const NotificationsConfig& config,
               std::function<std::shared_ptr<const Policy>()> policy, Clock& clock,
               std::unique_ptr<NotificationDelivery> delivery)
      : notifier_(path, config),
        config_(config),
        policy_(std::move(policy)),
        clock_(clock),
        delivery_(delivery ? std::move(delivery) : make_delivery(config)) {
    Metrics::global().describe("provisiond_notifications_total", "counter",
                               "Notification deliveries, by channel (mail, webhook) and result "
                               "(sent, error).");
    thread_ = std::thread([this] { run(); });
  }
  ~ThreadRunner() override { stop(); }

  void wake() override {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  void run() {
    name_this_thread("prov-notify");
    while (!stopping()) {
      auto wait = std::chrono::milliseconds(config_.poll_ms);
      try {
        const auto policy = policy_();
        static const std::vector<NotificationRule> kNone;
        const auto& rules = policy ? policy->notification_rules() : kNone;
        // A full batch means more audit is waiting: read on before sleeping.
        while (notifier_.match(rules, clock_.now()) == 256 && !stopping()) {
        }
        // One row at a time, each with the time of its own attempt: a webhook's timestamp must
        // be fresh when it leaves, however long the deliveries before it took.
        while (notifier_.send_due(*delivery_, clock_.now(), 1) > 0 && !stopping()) {
        }
        if (auto due = notifier_.next_due()) {
          const auto until =
              std::chrono::duration_cast<std::chrono::milliseconds>(*due - clock_.now());
          wait = std::clamp(until, std::chrono::milliseconds(1), wait);
        }
      } catch (const std::exception& e) {
        // The database was busy or failed: the next round tries again; nothing was marked.
        log::error("notifications: round failed", {{"error", e.what()}});
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
      woken_ = false;
    }
  }

  Notifier notifier_;
  NotificationsConfig config_;
  std::function<std::shared_ptr<const Policy>()> policy_;
  Clock& clock_;
  std::unique_ptr<NotificationDelivery> delivery_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false, woken_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<NotifyRunner> NotifyRunner::start(
    const std::filesystem::path& state_path, const NotificationsConfig& config,
    std::function<std::shared_ptr<const Policy>()> policy, Clock& clock,
    std::unique_ptr<NotificationDelivery> delivery) {
  return std::make_unique<ThreadRunner>(state_path, config, std::move(policy), clock,
                                        std::move(delivery));
}

}  // namespace prov
