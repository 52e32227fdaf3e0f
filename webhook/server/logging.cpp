#include "server/logging.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <string>

#include "core/json_text.h"

namespace sigv4::server {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// Lines the logging thread may have queued before a logging call blocks.
constexpr std::size_t kLogQueue = 8192;

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

template <class Fields>
std::string json_line(std::string_view message, const Fields& fields) {
  std::string line = "\"msg\":";
  line.reserve(256);
  append_json_string(line, message);
  for (const auto& [key, value] : fields) {
    line += ',';
    append_json_string(line, key);
    line += ':';
    value.append_json(line);
  }
  return line;
}

template <class Fields>
std::string text_line(std::string_view message, const Fields& fields) {
  std::string line(message);
  line.reserve(256);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    value.append_text(line);
  }
  return line;
}

template <class Fields>
void write_event(spdlog::level::level_enum level, std::string_view message, const Fields& fields) {
  if (!spdlog::should_log(level)) {
    return;
  }
  const std::string line =
      g_format.load() == LogFormat::kJson ? json_line(message, fields) : text_line(message, fields);
  spdlog::default_logger_raw()->log(level, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace

void LogValue::append_json(std::string& out) const {
  switch (kind_) {
    case Kind::kString:
      append_json_string(out, text());
      return;
    case Kind::kToken:
      out += text();
      return;
    case Kind::kJson:
      out += dump(json_);
      return;
  }
}

void LogValue::append_text(std::string& out) const {
  if (kind_ == Kind::kString) {
    const std::string_view s = text();
    if (!s.empty() && s.find_first_of(" \"=\t\n") == std::string_view::npos) {
      out += s;
      return;
    }
  }
  append_json(out);
}

bool parse_log_format(std::string_view text, LogFormat& format) {
  if (text == "json") {
    format = LogFormat::kJson;
    return true;
  }
  if (text == "text") {
    format = LogFormat::kText;
    return true;
  }
  return false;
}

bool parse_log_level(std::string_view text, spdlog::level::level_enum& level) {
  if (text == "warning") {
    text = "warn";
  }
  auto parsed = spdlog::level::from_str(std::string(text));
  // from_str answers "off" for unknown names.
  if (parsed == spdlog::level::off && text != "off") {
    return false;
  }
  level = parsed;
  return true;
}

void setup_logging(LogFormat format, spdlog::level::level_enum level) {
  g_format.store(format);
  // Lines are written by one background thread, so a review never waits on stderr (a write
  // syscall per line, behind a lock every worker shares). A full queue blocks rather than drops:
  // no line is lost.
  spdlog::init_thread_pool(kLogQueue, 1);
  auto logger = std::make_shared<spdlog::async_logger>(
      "sigv4-injector", std::make_shared<spdlog::sinks::stderr_sink_mt>(), spdlog::thread_pool(),
      spdlog::async_overflow_policy::block);
  if (format == LogFormat::kJson) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

bool log_enabled(spdlog::level::level_enum level) { return spdlog::should_log(level); }

void flush_logs() {
  // Joins the logging thread once it has written every queued line.
  spdlog::shutdown();
}

void log_event(spdlog::level::level_enum level, std::string_view message,
               std::initializer_list<LogField> fields) {
  write_event(level, message, fields);
}

void log_event(spdlog::level::level_enum level, std::string_view message,
               const std::vector<LogField>& fields) {
  write_event(level, message, fields);
}

}  // namespace sigv4::server
