#include "server/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "codec/json_text.h"

namespace sigv4::server {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

// Lines wait at most this long before they are written; a warning or error, or this many bytes
// waiting, has them written at once.
constexpr auto kFlushEvery = std::chrono::milliseconds(100);
constexpr std::size_t kBatchBytes = 64 * 1024;
// A logging call waits (never drops its line) only when this much is waiting: stderr is stuck.
constexpr std::size_t kMaxPending = 4 * 1024 * 1024;

// Writes all of `text` to stderr (a closed or failing stderr: there is nowhere else to write).
void write_stderr(std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;
    }
  }
}

// stderr in batches. A line is formatted on the thread that logs it and appended to a buffer,
// which the flusher thread takes and writes every kFlushEvery, and at once after a warning or
// error (what an operator needs after a crash is not held back) or when kBatchBytes wait.
// The flusher writes outside the lock, so a slow stderr holds up no review until kMaxPending
// bytes wait. spdlog's async logger, used before, woke its thread for every line: a futex wake,
// a context switch and a write per review, about a seventh of the server's CPU at 2,000/s.
class BatchedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~BatchedStderrSink() override { write_stderr(pending_); }

  // Called after each line worth writing at once.
  void on_urgent(std::function<void()> wake) {
    const std::lock_guard<std::mutex> lock(mutex_);
    wake_flusher_ = std::move(wake);
  }

  // Takes what waits and writes it; the flusher thread's work, and only its.
  void drain() {
    std::string batch;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      batch.swap(pending_);
      drained_.notify_all();
    }
    write_stderr(batch);
  }

  // Once the flusher has stopped: writes what waits, and from now on every line as it is
  // logged (under the lock, so in order; nothing calls the flusher any more).
  void write_directly() {
    const std::lock_guard<std::mutex> lock(mutex_);
    direct_ = true;
    write_stderr(pending_);
    pending_.clear();
    drained_.notify_all();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    // base_sink holds mutex_ here; waiting releases it for the flusher.
    drained_.wait(mutex_, [&] { return pending_.size() < kMaxPending || direct_; });
    pending_.append(formatted.data(), formatted.size());
    if (direct_) {
      write_stderr(pending_);
      pending_.clear();
    } else if ((msg.level >= spdlog::level::warn || pending_.size() >= kBatchBytes) &&
               wake_flusher_) {
      wake_flusher_();
    }
  }
  // Lines are written by drain() (the flusher) or, once it has stopped, as they are logged; a
  // write from here could overtake the batch drain() is writing.
  void flush_() override {}

 private:
  std::string pending_;
  std::condition_variable_any drained_;
  bool direct_ = false;  // guarded by mutex_, as pending_
  std::function<void()> wake_flusher_;
};

// Drains the sink every kFlushEvery, or when woken, until stopped; then the sink writes each
// line itself.
class Flusher {
 public:
  explicit Flusher(std::shared_ptr<BatchedStderrSink> sink) : sink_(std::move(sink)) {
    sink_->on_urgent([this] { wake(); });
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
    sink_->write_directly();
  }

 private:
  void wake() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      urgent_ = true;
    }
    wake_.notify_one();
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopped_) {
      wake_.wait_for(lock, kFlushEvery, [this] { return stopped_ || urgent_; });
      urgent_ = false;
      lock.unlock();
      sink_->drain();
      lock.lock();
    }
  }

  std::shared_ptr<BatchedStderrSink> sink_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  bool urgent_ = false;
  std::thread thread_;
};

std::unique_ptr<Flusher> g_flusher;

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Appends `text` as a JSON string, its first `max` bytes (to a character boundary) and a mark
// when it is longer.
void append_bounded_json_string(std::string& out, std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    append_json_string(out, text);
    return;
  }
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0u) == 0x80u) {
    --cut;
  }
  std::string clipped(text.substr(0, cut));
  clipped += "...(" + std::to_string(text.size()) + " bytes)";
  append_json_string(out, clipped);
}

// Written bare in a text line: no space, '"', '=', control character or DEL (an escape
// sequence from a pod never reaches a terminal raw), and short.
bool is_bare(std::string_view s) {
  return !s.empty() && s.size() <= kMaxLogStringBytes &&
         std::all_of(s.begin(), s.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u > 0x20 && u != 0x7F && c != '"' && c != '=';
         });
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
      append_bounded_json_string(out, text(), kMaxLogStringBytes);
      return;
    case Kind::kToken:
      out += text();
      return;
    case Kind::kJson: {
      const std::string json = dump(json_);
      if (json.size() <= kMaxLogJsonBytes) {
        out += json;
      } else {
        // Quotes and backslashes of the JSON text are escaped again: at most twice as long.
        append_bounded_json_string(out, json, kMaxLogJsonBytes / 2);
      }
      return;
    }
  }
}

void LogValue::append_text(std::string& out) const {
  if (kind_ == Kind::kString && is_bare(text())) {
    out += text();
    return;
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
