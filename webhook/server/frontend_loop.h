#pragma once

// The front end's internals, shared by frontend.cpp (the loops, deadlines, stopping), accept.cpp
// (accepting, the cap, sharing connections among loops) and exchange.cpp (one connection: TLS or
// plain I/O, framing, answers). Not for other files.

#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/frontend.h"
#include "server/http.h"

namespace sigv4::server {

using Clock = std::chrono::steady_clock;

struct Frontend::TlsContext {
  SSL_CTX* ctx = nullptr;
  ~TlsContext() { SSL_CTX_free(ctx); }
};

// kWaiting: between requests (before the first one too); kHead, kBody: a request arriving.
enum class Phase { kHandshake, kWaiting, kHead, kBody };

struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;  // null on a plain-HTTP listener
  Phase phase = Phase::kHandshake;
  std::uint32_t events = 0;  // what epoll waits for
  bool want_write = false;   // the last I/O call needs the socket writable
  std::string in;            // bytes received; the first `in_used` are consumed
  std::size_t in_used = 0;
  std::size_t head_scanned = 0;  // bytes of `in` searched for the end of the head
  std::string out;               // bytes to send
  std::size_t out_sent = 0;
  bool close_after_write = false;
  bool eof = false;  // the peer closed its side
  // The handshake and first request are due by `deadline`; after an answer, a connection with
  // nothing pending is idle until `idle_until` (keep-alive), and the next request (or taking the
  // answer) is due by `deadline`.
  Clock::time_point deadline;
  Clock::time_point idle_until = Clock::time_point::max();
  // When the connection last began waiting for its client (accepted, a request started, an
  // answer queued): at the cap, the one waiting longest gives way.
  Clock::time_point since;
  // The request being read.
  RequestHead head;
  BodyReader reader;

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    if (fd >= 0) {
      ::close(fd);
    }
  }
  std::size_t unread() const { return in.size() - in_used; }
  // Between requests with nothing buffered, or still in its TLS handshake: nothing in flight.
  bool idle() const {
    return phase == Phase::kHandshake || (phase == Phase::kWaiting && unread() == 0 && out.empty());
  }
};

// What one read_some() got: bytes or the peer's close, nothing for now, or a failed connection.
enum class ReadResult { kSome, kNothing, kFailed };

// A socket one loop accepted for another; `counted` when it is already in the connection count
// (else it is one past the cap, and its loop makes room for it or refuses it).
struct Handoff {
  int fd = -1;
  bool counted = true;
};

struct Frontend::Loop {
  Frontend& owner;
  int epoll = -1;
  int wake = -1;  // eventfd: stop() was called, or a socket was handed over
  std::unordered_map<int, std::unique_ptr<Connection>> connections;
  std::thread thread;
  // Connections this loop serves or has been handed: a new connection goes to the loop with the
  // fewest, so that a burst of requests is shared by every core (left to the kernel, one loop
  // got two thirds of the work and its queue set the latency).
  std::atomic<std::size_t> load{0};
  std::mutex handoff_mutex;
  std::vector<Handoff> handoff;
  // Out of descriptors, the loop takes the listener out of its epoll set until `resume_at`
  // (or until one of its connections closes): accept4 would fail again at once.
  bool accepting = true;
  Clock::time_point resume_at;

  explicit Loop(Frontend& f);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // frontend.cpp
  void run();
  int wait_timeout_ms(Clock::time_point next_tick) const;
  void adopt(int fd);
  void close(Connection& c);
  void check_deadlines();
  void close_idle();

  // accept.cpp
  void accept_one();
  void place(int fd);
  void count_in();
  void uncount();
  void pause_accepting(int error);
  void resume_accepting();
  bool evict_one();
  void refuse(int fd);
  void take_handoffs();
  void hand_over(int fd, bool counted);

  // exchange.cpp
  void serve(Connection& c);
  void drive(Connection& c);
  bool handshake(Connection& c);
  ReadResult read_some(Connection& c);
  bool write_out(Connection& c);
  bool consume(Connection& c);
  bool consume_head(Connection& c);
  bool consume_body(Connection& c);
  void answer(Connection& c);
  void answer_error(Connection& c, int status, const std::string& message);
  void answer_oversized(Connection& c);
  void queue(Connection& c, const Response& res, bool with_body);
  void request_done(Connection& c);
  void set_events(Connection& c);
};

}  // namespace sigv4::server
