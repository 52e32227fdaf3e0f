#pragma once

#include <spdlog/common.h>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "codec/json.h"

namespace sigv4::server {

enum class LogFormat { kText, kJson };

// Parses "json" or "text"; returns false for anything else.
bool parse_log_format(std::string_view text, LogFormat& format);

// Parses an spdlog level name ("trace", "debug", "info", "warn", "error", "critical", "off");
// returns false for anything else.
bool parse_log_level(std::string_view text, spdlog::level::level_enum& level);

// Sends logs to stderr, one line per event, in `format` (UTC timestamps), from `level` up.
// Lines below warn are written in batches at least every 100 ms; warnings and errors at once.
void setup_logging(LogFormat format, spdlog::level::level_enum level);

// Whether a line at `level` would be written (to skip building costly fields).
bool log_enabled(spdlog::level::level_enum level);

// Writes out every waiting line and stops the batch writer (before a hard exit: lines below warn
// logged later are written only by a normal exit).
void flush_logs();

// A string field of a log line keeps at most this many bytes of its text (cut at a character
// boundary and marked "...(N bytes)"); a structured (Json) field at most this many bytes of
// JSON text, else it is written as a string of half as many bytes of it, cut the same way.
// Fields quote pod data (names, uids, warnings, denials): whatever the pod, a line stays bounded.
inline constexpr std::size_t kMaxLogStringBytes = 1024;
inline constexpr std::size_t kMaxLogJsonBytes = 64 * 1024;

// The value of one structured field of a log line; strings, numbers and booleans keep their JSON
// type. Strings are viewed, not copied (a temporary std::string is kept); numbers and booleans
// are written as they are; anything else is a Json. Cheap on purpose: every review logs a line.
class LogValue {
 public:
  LogValue(const char* text) : view_(text) {}
  LogValue(std::string_view text) : view_(text) {}
  LogValue(const std::string& text) : view_(text) {}
  LogValue(std::string&& text) : owned_(std::move(text)), owns_(true) {}
  LogValue(bool flag) : kind_(Kind::kToken), view_(flag ? "true" : "false") {}
  template <class T>
  requires std::is_integral_v<T> &&(!std::is_same_v<T, bool>)LogValue(T number)
      : kind_(Kind::kToken), owned_(std::to_string(number)), owns_(true) {}
  LogValue(Json value) : kind_(Kind::kJson), json_(std::move(value)) {}

  // As a JSON value; as a `key=value` text value (bare unless it needs quotes to read back).
  void append_json(std::string& out) const;
  void append_text(std::string& out) const;

 private:
  enum class Kind { kString, kToken, kJson };
  std::string_view text() const { return owns_ ? std::string_view(owned_) : view_; }

  Kind kind_ = Kind::kString;
  std::string_view view_;
  std::string owned_;
  bool owns_ = false;
  Json json_;
};

// One structured field of a log line.
using LogField = std::pair<std::string_view, LogValue>;

// Logs `message` with `fields`: a JSON object per line, or `message key=value ...` as text.
void log_event(spdlog::level::level_enum level, std::string_view message,
               std::initializer_list<LogField> fields = {});

// The same, for fields assembled at run time.
void log_event(spdlog::level::level_enum level, std::string_view message,
               const std::vector<LogField>& fields);

}  // namespace sigv4::server
