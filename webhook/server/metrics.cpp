#include "server/metrics.h"

#include <cstdio>

namespace sigv4::server {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

void append_header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, std::string_view labels,
                   std::uint64_t value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

// A reload counter pair (index 0 failure, 1 success) as one labelled counter.
template <typename Counters>
void append_reloads(std::string& out, const char* name, const char* help,
                    const Counters& counters) {
  append_header(out, name, "counter", help);
  append_sample(out, name, "result=\"success\"", counters[1].load(std::memory_order_relaxed));
  append_sample(out, name, "result=\"failure\"", counters[0].load(std::memory_order_relaxed));
}

// A gauge of Unix seconds (0 until set).
void append_timestamp(std::string& out, const char* name, const char* help,
                      const std::atomic<std::int64_t>& seconds) {
  append_header(out, name, "gauge", help);
  const std::int64_t value = seconds.load(std::memory_order_relaxed);
  append_sample(out, name, "", value > 0 ? static_cast<std::uint64_t>(value) : 0);
}

std::string format_double(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

std::size_t index_of(Route route) { return static_cast<std::size_t>(route); }

std::size_t index_of(Listener listener) { return listener == Listener::kWebhook ? 0 : 1; }

// A per-listener counter as one labelled metric.
template <typename Counters>
void append_per_listener(std::string& out, const char* name, const char* type, const char* help,
                         const Counters& counters) {
  append_header(out, name, type, help);
  for (Listener listener : {Listener::kWebhook, Listener::kMetrics}) {
    const auto value = counters[index_of(listener)].load(kRelaxed);
    append_sample(out, name, "listener=\"" + std::string(to_string(listener)) + "\"",
                  value > 0 ? static_cast<std::uint64_t>(value) : 0);
  }
}

}  // namespace

std::string_view to_string(Result result) {
  switch (result) {
    case Result::kInjected:
      return "injected";
    case Result::kSkipped:
      return "skipped";
    case Result::kDenied:
      return "denied";
    case Result::kBadRequest:
      return "bad-request";
    case Result::kTooLarge:
      return "too-large";
    case Result::kUnsupportedMediaType:
      return "unsupported-media-type";
    case Result::kMethodNotAllowed:
      return "method-not-allowed";
    case Result::kError:
      return "error";
  }
  return "error";
}

std::string_view to_string(Listener listener) {
  return listener == Listener::kWebhook ? "webhook" : "metrics";
}

std::string_view route_path(Route route) {
  switch (route) {
    case Route::kMutate:
      break;
    case Route::kMutateAnnotated:
      return "/mutate/annotated";
    case Route::kMutatePodSecurity:
      return "/mutate/pod-security";
    case Route::kMutateAnnotatedPodSecurity:
      return "/mutate/annotated/pod-security";
  }
  return "/mutate";
}

std::optional<Route> route_named(std::string_view path) {
  for (Route route : kRoutes) {
    if (route_path(route) == path) {
      return route;
    }
  }
  return std::nullopt;
}

void Metrics::count_request(Route route, Result result) {
  requests_[index_of(route)][static_cast<std::size_t>(result)].fetch_add(1, kRelaxed);
}

void Metrics::count_decision(const Decision& decision) {
  if (decision.inject) {
    injections_.fetch_add(1, kRelaxed);
    return;
  }
  for (Reason reason : decision.reasons) {
    auto index = static_cast<std::size_t>(reason);
    if (index < kReasons) {
      skips_[index].fetch_add(1, kRelaxed);
    }
  }
}

void Metrics::observe_duration(std::chrono::nanoseconds elapsed) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) {
    ++bucket;
  }
  buckets_[bucket].fetch_add(1, kRelaxed);
  const auto ns = elapsed.count() > 0 ? static_cast<std::uint64_t>(elapsed.count()) : 0;
  duration_sum_ns_.fetch_add(ns, kRelaxed);
}

void Metrics::count_config_reload(bool success) {
  config_reloads_[success ? 1 : 0].fetch_add(1, kRelaxed);
}

void Metrics::count_cert_reload(bool success) {
  cert_reloads_[success ? 1 : 0].fetch_add(1, kRelaxed);
}

void Metrics::set_cert_loaded(std::int64_t loaded_at, std::int64_t not_after) {
  cert_loaded_at_.store(loaded_at, kRelaxed);
  cert_not_after_.store(not_after, kRelaxed);
}

void Metrics::render_requests(std::string& out) const {
  append_header(out, "sigv4_injector_admission_requests_total", "counter",
                "Admission requests by path and result.");
  for (Route route : kRoutes) {
    for (std::size_t result = 0; result < kResults; ++result) {
      std::string labels = "path=\"" + std::string(route_path(route)) + "\",result=\"" +
                           std::string(to_string(static_cast<Result>(result))) + "\"";
      append_sample(out, "sigv4_injector_admission_requests_total", labels,
                    requests_[index_of(route)][result].load(kRelaxed));
    }
  }
}

void Metrics::render_skips(std::string& out) const {
  append_header(out, "sigv4_injector_injections_total", "counter", "Pods injected.");
  append_sample(out, "sigv4_injector_injections_total", "", injections_.load(kRelaxed));
  append_header(out, "sigv4_injector_skips_total", "counter", "Pods not injected, by reason.");
  for (std::size_t index = 0; index < kReasons; ++index) {
    const auto reason = static_cast<Reason>(index);
    const std::string_view name = to_string(reason);
    if (reason == Reason::kSelected || reason == Reason::kAnnotated || name == "unknown") {
      continue;  // reasons to inject are never skips; "unknown" is past the last reason
    }
    append_sample(out, "sigv4_injector_skips_total", "reason=\"" + std::string(name) + "\"",
                  skips_[index].load(kRelaxed));
  }
}

void Metrics::render_histogram(std::string& out) const {
  constexpr const char* kName = "sigv4_injector_admission_duration_seconds";
  append_header(out, kName, "histogram", "Time to review one admission request.");
  std::uint64_t cumulative = 0;
  for (std::size_t bucket = 0; bucket <= kDurationBuckets.size(); ++bucket) {
    cumulative += buckets_[bucket].load(kRelaxed);
    const std::string bound =
        bucket < kDurationBuckets.size() ? format_double(kDurationBuckets[bucket]) : "+Inf";
    append_sample(out, std::string(kName) + "_bucket", "le=\"" + bound + "\"", cumulative);
  }
  const double sum = static_cast<double>(duration_sum_ns_.load(kRelaxed)) / 1e9;
  out += std::string(kName) + "_sum " + format_double(sum) + "\n";
  append_sample(out, std::string(kName) + "_count", "", cumulative);
}

void Metrics::count_request_timeouts(std::uint64_t connections) {
  request_timeouts_.fetch_add(connections, std::memory_order_relaxed);
}

void Metrics::count_accept_pause(Listener listener) {
  accept_pauses_[index_of(listener)].fetch_add(1, kRelaxed);
}

void Metrics::count_evicted(Listener listener) {
  evicted_[index_of(listener)].fetch_add(1, kRelaxed);
}

void Metrics::count_refused(Listener listener) {
  refused_[index_of(listener)].fetch_add(1, kRelaxed);
}

void Metrics::add_open_connections(Listener listener, std::int64_t delta) {
  open_connections_[index_of(listener)].fetch_add(delta, kRelaxed);
}

void Metrics::render_connections(std::string& out) const {
  append_per_listener(out, "sigv4_injector_open_connections", "gauge",
                      "Connections open, by listener.", open_connections_);
  append_per_listener(out, "sigv4_injector_connections_evicted_total", "counter",
                      "Connections closed at the connection cap to make room for a new one.",
                      evicted_);
  append_per_listener(out, "sigv4_injector_connections_refused_total", "counter",
                      "New connections closed at once at the connection cap.", refused_);
  append_per_listener(out, "sigv4_injector_accept_pauses_total", "counter",
                      "Times a listener stopped accepting for a while, out of file descriptors.",
                      accept_pauses_);
}

std::string Metrics::render(bool ready) const {
  std::string out;
  out.reserve(8192);
  render_requests(out);
  render_skips(out);
  render_histogram(out);
  append_reloads(out, "sigv4_injector_config_reloads_total",
                 "Configuration file reloads by result.", config_reloads_);
  append_reloads(out, "sigv4_injector_cert_reloads_total", "Serving certificate reloads by result.",
                 cert_reloads_);
  append_timestamp(out, "sigv4_injector_cert_last_reload_success_timestamp_seconds",
                   "Unix time the serving certificate was last loaded, at start or by a reload.",
                   cert_loaded_at_);
  append_timestamp(out, "sigv4_injector_cert_expiration_timestamp_seconds",
                   "Unix time the serving certificate expires (its notAfter).", cert_not_after_);
  append_header(out, "sigv4_injector_request_timeouts_total", "counter",
                "Connections closed for not sending a whole request within --request-timeout.");
  append_sample(out, "sigv4_injector_request_timeouts_total", "",
                request_timeouts_.load(std::memory_order_relaxed));
  render_connections(out);
  append_header(out, "sigv4_injector_ready", "gauge",
                "1 when serving with a valid cert and config.");
  append_sample(out, "sigv4_injector_ready", "", ready ? 1 : 0);
  return out;
}

}  // namespace sigv4::server
