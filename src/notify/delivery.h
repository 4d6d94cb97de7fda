#pragma once
// The channels: mail (mail.cc) and webhook (webhook.cc), chosen per row by delivery.cc.
#include <string>

#include "prov/notify.h"

namespace prov::notify {

// The message as sent: headers (Date and Message-ID from the row) and a CRLF body.
std::string compose_mail(const NotificationRow& row, const SmtpConfig& smtp);
Status send_mail(const NotificationRow& row, const SmtpConfig& smtp);
Status send_webhook(const NotificationRow& row, const NotifyWebhookConfig& hook, TimePoint now);

}  // namespace prov::notify
