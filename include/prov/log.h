#pragma once
// Structured logging: one JSON object per line on stdout with ts, level, msg and the ids that let
// ops follow a change (event_id, worker_id, op_id, dn). Never pass secrets as fields.
#include <spdlog/spdlog.h>

#include <string>
#include <utility>
#include <vector>

namespace prov::log {

using Fields = std::vector<std::pair<std::string, std::string>>;

// format: "json" (default) or "text"; level: trace|debug|info|warn|error.
void init(const std::string& level, const std::string& format);
void write(spdlog::level::level_enum level, const std::string& msg, const Fields& fields = {});
inline void info(const std::string& m, const Fields& f = {}) { write(spdlog::level::info, m, f); }
inline void warn(const std::string& m, const Fields& f = {}) { write(spdlog::level::warn, m, f); }
inline void error(const std::string& m, const Fields& f = {}) { write(spdlog::level::err, m, f); }
inline void debug(const std::string& m, const Fields& f = {}) { write(spdlog::level::debug, m, f); }

}  // namespace prov::log
