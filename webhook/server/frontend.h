#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "server/address.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/state.h"

namespace sigv4::server {

// What a listener answers (routes.h has the webhook's and the metrics port's). Called on the
// loop that read the request; must not block.
class Routes {
 public:
  virtual ~Routes() = default;
  // How many bytes of this request's body answer() needs; the rest is read and dropped.
  virtual std::uint64_t body_to_keep(const RequestHead& head) const = 0;
  // An answer given before the body is read (the connection then closes), or false to read it.
  virtual bool answer_head(const RequestHead& head, Response& res) const = 0;
  // Answers a complete request; `body` holds the first body_to_keep() bytes of its body.
  virtual void answer(const RequestHead& head, std::string_view body, Response& res) const = 0;
  // Answers a request whose body is longer than the listener drains (the connection closes).
  virtual void answer_oversized(const RequestHead& head, Response& res) const = 0;
};

// Limits and timeouts of one listener.
struct FrontendOptions {
  Listener listener = Listener::kWebhook;  // names it in logs and metrics
  // A body longer than this is read and dropped up to 4x this (the client gets its answer and
  // the connection stays usable); past that the answer goes out at once and the connection
  // closes.
  std::size_t max_body_bytes = std::size_t{4} << 20;
  // Connections open at once; past it the longest-idle connection gives way to a new one.
  std::size_t max_connections = 1024;
  std::chrono::seconds keep_alive{5};
  // The TLS handshake and a whole request (head and body) must arrive within this; a later
  // request on the same connection (and the client's taking of the previous answer) within
  // keep-alive + this of that answer.
  std::chrono::seconds request_timeout{10};
  unsigned threads = 0;  // event loops; 0: one per core
};

// An HTTP/1.1 server, over TLS or plain: one epoll loop per thread, each accepting connections
// from the shared listening socket and serving them with non-blocking sockets (and OpenSSL). A
// request is answered on its loop (tens of microseconds for a typical review); a connection costs
// a few kilobytes, not a thread, and every deadline is a timer of its loop.
class Frontend {
 public:
  Frontend(ServerState& state, const Routes& routes, FrontendOptions options);
  ~Frontend();
  Frontend(const Frontend&) = delete;
  Frontend& operator=(const Frontend&) = delete;

  // Serves HTTPS with configure_server_context on `state.certs` (without it, plain HTTP). False
  // on failure.
  bool setup_tls();
  // Binds and listens; "" means every interface (dual-stack "::", else "0.0.0.0"), port 0 a free
  // port. Returns what was bound, port -1 on failure.
  ListenAddress bind(const ListenAddress& address);
  // Serves until stop() and every connection in flight is done.
  void run();
  // Stops accepting (the port refuses connections at once), closes idle connections and lets
  // requests in flight be answered (with Connection: close). Safe from any thread.
  void stop();
  bool running() const { return running_.load(); }

  struct Loop;

 private:
  // Logs, at most once a second, that accepting paused for want of descriptors.
  void note_accept_pause(int error);

  ServerState& state_;
  const Routes& routes_;
  FrontendOptions options_;
  struct TlsContext;
  std::unique_ptr<TlsContext> tls_;
  std::atomic<int> listener_{-1};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<std::size_t> connections_{0};
  std::atomic<std::int64_t> last_pause_log_ms_{0};
  std::atomic<std::uint64_t> pauses_unlogged_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace sigv4::server
