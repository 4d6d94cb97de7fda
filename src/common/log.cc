#include "prov/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "prov/clock.h"

namespace prov::log {
namespace {
bool g_json = true;
}

void init(const std::string& level, const std::string& format) {
  g_json = format != "text";
  auto logger = spdlog::stdout_logger_mt("provisiond");
  // The JSON line is built by write(); spdlog only adds the newline.
  logger->set_pattern(g_json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %l %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);  // one line per event, visible at once to journald
  spdlog::set_default_logger(logger);
}

void write(spdlog::level::level_enum level, const std::string& msg, const Fields& fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  if (g_json) {
    nlohmann::json j;
    j["ts"] = format_time(SystemClock().now());
    j["level"] = std::string(spdlog::level::to_string_view(level).data(),
                             spdlog::level::to_string_view(level).size());
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[k] = v;
    logger->log(level, "{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    std::string line = msg;
    for (const auto& [k, v] : fields) line += " " + k + "=" + v;
    logger->log(level, "{}", line);
  }
}

}  // namespace prov::log
