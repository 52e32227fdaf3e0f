#include "server/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/json_text.h"

namespace sigv4::server {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// Info lines wait at most this long, or until this much is waiting, before they are written.
constexpr auto kFlushEvery = std::chrono::milliseconds(100);
constexpr std::size_t kBatchBytes = 64 * 1024;

// stderr in batches. A line is formatted on the thread that logs it and appended to a buffer;
// the buffer is written by the flusher every kFlushEvery, at once when a warning or error
// arrives (what an operator needs after a crash is never held back), and when kBatchBytes wait.
// A write per line, or waking a logging thread per line as spdlog's async logger does, cost a
// seventh of the server's CPU per review (one line each).
class BatchedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BatchedStderrSink() override { write_pending(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    pending_.append(formatted.data(), formatted.size());
    if (msg.level >= spdlog::level::warn || pending_.size() >= kBatchBytes) {
      write_pending();
    }
  }
  void flush_() override { write_pending(); }

 private:
  void write_pending() {
    std::size_t done = 0;
    while (done < pending_.size()) {
      const ssize_t n = ::write(STDERR_FILENO, pending_.data() + done, pending_.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;  // stderr closed or failing: there is nowhere else to write
      }
    }
    pending_.clear();
  }

  std::string pending_;
};

// Flushes the sink every kFlushEvery until stopped (then once more).
class Flusher {
 public:
  explicit Flusher(std::shared_ptr<spdlog::sinks::sink> sink) : sink_(std::move(sink)) {
    thread_ = std::thread([this] { run(); });
  }
  ~Flusher() { stop(); }
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void stop() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
    sink_->flush();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, kFlushEvery, [this] { return stopped_; })) {
      lock.unlock();
      sink_->flush();
      lock.lock();
    }
  }

  std::shared_ptr<spdlog::sinks::sink> sink_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::thread thread_;
};

std::unique_ptr<Flusher> g_flusher;

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
  g_flusher.reset();
  auto sink = std::make_shared<BatchedStderrSink>();
  auto logger = std::make_shared<spdlog::logger>("sigv4-injector", sink);
  if (format == LogFormat::kJson) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
  g_flusher = std::make_unique<Flusher>(std::move(sink));
}

bool log_enabled(spdlog::level::level_enum level) { return spdlog::should_log(level); }

void flush_logs() {
  if (g_flusher) {
    g_flusher->stop();  // writes what waits
  }
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
