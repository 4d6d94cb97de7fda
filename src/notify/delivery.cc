#include "notify/delivery.h"

namespace prov {
namespace {

class ConfiguredDelivery final : public NotificationDelivery {
 public:
  explicit ConfiguredDelivery(NotificationsConfig config) : config_(std::move(config)) {}

  Status deliver(const NotificationRow& row, TimePoint now) override {
    if (row.channel == "mail") return notify::send_mail(row, config_.smtp);
    if (row.channel == "webhook") {
      for (const auto& hook : config_.webhooks)
        if (hook.name == row.destination) return notify::send_webhook(row, hook, now);
      return Error{"no webhook '" + row.destination + "' in notifications.webhooks", false};
    }
    return Error{"unknown channel '" + row.channel + "'", false};
  }

 private:
  NotificationsConfig config_;
};

}  // namespace

std::unique_ptr<NotificationDelivery> make_delivery(const NotificationsConfig& config) {
  return std::make_unique<ConfiguredDelivery>(config);
}

}  // namespace prov
