#include "server/logging.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

namespace sigv4::server {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// Lines the logging thread may have queued before a logging call blocks.
constexpr std::size_t kLogQueue = 8192;

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Text values stay bare unless they need quotes to be read back unambiguously.
std::string text_value(const Json& value) {
  if (!value.is_string()) {
    return dump(value);
  }
  const auto& text = value.get_ref<const std::string&>();
  const bool plain = !text.empty() && text.find_first_of(" \"=\t\n") == std::string::npos;
  return plain ? text : dump(value);
}

template <class Fields>
std::string json_line(std::string_view message, const Fields& fields) {
  std::string line = "\"msg\":" + dump(Json(std::string(message)));
  for (const auto& [key, value] : fields) {
    line += ',';
    line += dump(Json(std::string(key)));
    line += ':';
    line += dump(value);
  }
  return line;
}

template <class Fields>
std::string text_line(std::string_view message, const Fields& fields) {
  std::string line(message);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    line += text_value(value);
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
  spdlog::log(level, "{}", line);
}

}  // namespace

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
