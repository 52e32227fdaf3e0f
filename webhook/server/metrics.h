#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/decision.h"

namespace sigv4::server {

// The outcome of one admission request, the `result` label.
enum class Result {
  kInjected,
  kSkipped,
  kDenied,
  kBadRequest,
  kTooLarge,
  kUnsupportedMediaType,
  kMethodNotAllowed,
  kError,
};

std::string_view to_string(Result result);

// The server's two listeners, the `listener` label of the connection metrics.
enum class Listener { kWebhook, kMetrics };

std::string_view to_string(Listener listener);

// Upper bounds of the admission duration histogram, in seconds.
inline constexpr std::array<double, 13> kDurationBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

// The process's Prometheus metrics: plain atomic counters, so recording costs a few relaxed
// increments and never takes a lock.
class Metrics {
 public:
  void count_request(Route route, Result result);
  // Counts an injection, or each skip reason of a decision that does not inject (call it for
  // reviews that were not denied).
  void count_decision(const Decision& decision);
  void observe_duration(std::chrono::nanoseconds elapsed);
  void count_config_reload(bool success);
  void count_cert_reload(bool success);
  // The serving certificate that was loaded last (at start or by a reload): when, and its
  // notAfter, both in Unix seconds.
  void set_cert_loaded(std::int64_t loaded_at, std::int64_t not_after);
  // Connections closed because a whole request did not arrive in time (RequestDeadlines).
  void count_request_timeouts(std::uint64_t connections);
  // A listener stopped accepting for a while: the process (or system) was out of descriptors.
  void count_accept_pause(Listener listener);
  // At the connection cap, a connection was closed to make room for a new one (evicted), or
  // the new one was closed at once because none could be (refused).
  void count_evicted(Listener listener);
  void count_refused(Listener listener);
  // Connections open on a listener: +1 when one is accepted, -1 when it closes.
  void add_open_connections(Listener listener, std::int64_t delta);

  // The Prometheus text exposition (format 0.0.4) of every metric; `ready` feeds a gauge.
  std::string render(bool ready) const;

 private:
  static constexpr std::size_t kRouteCount = std::size(kRoutes);
  static constexpr std::size_t kResults = static_cast<std::size_t>(Result::kError) + 1;
  // Room for every Reason; render() lists those to_string() names.
  static constexpr std::size_t kReasons = 32;
  using Counter = std::atomic<std::uint64_t>;

  void render_requests(std::string& out) const;
  void render_skips(std::string& out) const;
  void render_histogram(std::string& out) const;
  void render_connections(std::string& out) const;

  std::array<std::array<Counter, kResults>, kRouteCount> requests_{};
  Counter injections_{0};
  std::array<Counter, kReasons> skips_{};
  std::array<Counter, kDurationBuckets.size() + 1> buckets_{};  // the last one is +Inf
  Counter duration_sum_ns_{0};
  std::array<Counter, 2> config_reloads_{};  // failure, success
  std::array<Counter, 2> cert_reloads_{};
  std::atomic<std::int64_t> cert_loaded_at_{0};
  std::atomic<std::int64_t> cert_not_after_{0};
  Counter request_timeouts_{0};
  static constexpr std::size_t kListeners = 2;
  std::array<Counter, kListeners> accept_pauses_{};
  std::array<Counter, kListeners> evicted_{};
  std::array<Counter, kListeners> refused_{};
  std::array<std::atomic<std::int64_t>, kListeners> open_connections_{};
};

// The `path` label of a route: the webhook's paths, a bounded known set.
std::string_view route_path(Route route);

// The route a review path names (route_path read backwards); nullopt for another path.
std::optional<Route> route_named(std::string_view path);

}  // namespace sigv4::server
