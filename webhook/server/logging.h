#pragma once

#include <spdlog/common.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"

namespace sigv4::server {

enum class LogFormat { kText, kJson };

// Parses "json" or "text"; returns false for anything else.
bool parse_log_format(std::string_view text, LogFormat& format);

// Parses an spdlog level name ("trace", "debug", "info", "warn", "error", "critical", "off");
// returns false for anything else.
bool parse_log_level(std::string_view text, spdlog::level::level_enum& level);

// Sends logs to stderr, one line per event, in `format` (UTC timestamps), from `level` up.
void setup_logging(LogFormat format, spdlog::level::level_enum level);

// Whether a line at `level` would be written (to skip building costly fields).
bool log_enabled(spdlog::level::level_enum level);

// Writes out every queued line and stops logging (before a hard exit: later lines are lost).
void flush_logs();

// One structured field of a log line; strings, numbers and booleans keep their JSON type.
using LogField = std::pair<std::string_view, Json>;

// Logs `message` with `fields`: a JSON object per line, or `message key=value ...` as text.
void log_event(spdlog::level::level_enum level, std::string_view message,
               std::initializer_list<LogField> fields = {});

// The same, for fields assembled at run time.
void log_event(spdlog::level::level_enum level, std::string_view message,
               const std::vector<LogField>& fields);

}  // namespace sigv4::server
