#include "server/frontend.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "server/frontend_loop.h"
#include "server/logging.h"
#include "server/tls.h"

namespace sigv4::server {
namespace {

constexpr int kTickMs = 250;  // deadline checks
// Out of descriptors, a loop stops accepting for this long (or until one of its connections
// closes): accept4 would fail again at once, and the connection stays in the backlog.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
constexpr std::int64_t kPauseLogIntervalMs = 1000;

const char* describe_accept_error(int error) {
  switch (error) {
    case EMFILE:
      return "EMFILE: the process's descriptor limit";
    case ENFILE:
      return "ENFILE: the system's descriptor limit";
    default:
      return "ENOBUFS/ENOMEM: out of socket memory";
  }
}

bool out_of_descriptors(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace

Frontend::Frontend(ServerState& state, const Routes& routes, FrontendOptions options)
    : state_(state), routes_(routes), options_(std::move(options)) {}

Frontend::~Frontend() {
  const int fd = listener_.exchange(-1);
  if (fd >= 0) {
    ::close(fd);
  }
}

bool Frontend::setup_tls() {
  tls_ = std::make_unique<TlsContext>();
  tls_->ctx = SSL_CTX_new(TLS_server_method());
  if (tls_->ctx == nullptr || !configure_server_context(*tls_->ctx, state_.certs)) {
    return false;
  }
  // Writes are whole answers from a stable buffer; idle connections give their buffers back.
  SSL_CTX_set_mode(tls_->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  // Whatever the socket holds in one read, not a record header and then its body: a request of
  // a few records took three reads per record.
  SSL_CTX_set_read_ahead(tls_->ctx, 1);
  return true;
}

ListenAddress Frontend::bind(const ListenAddress& address) {
  int fd = -1;
  const ListenAddress bound = listen_on(address, fd);
  listener_.store(fd);
  return bound;
}

void Frontend::run() {
  const unsigned count =
      options_.threads != 0 ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < count; ++i) {
    auto loop = std::make_unique<Loop>(*this);
    epoll_event listen_ev{};
    listen_ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    listen_ev.data.ptr = nullptr;  // the listener
    epoll_event wake_ev{};
    wake_ev.events = EPOLLIN;
    wake_ev.data.ptr = &loop->wake;
    if (loop->epoll < 0 || loop->wake < 0 ||
        epoll_ctl(loop->epoll, EPOLL_CTL_ADD, listener_.load(), &listen_ev) != 0 ||
        epoll_ctl(loop->epoll, EPOLL_CTL_ADD, loop->wake, &wake_ev) != 0) {
      log_event(spdlog::level::err, "cannot start the event loops",
                {{"listener", to_string(options_.listener)}});
      loops_.clear();
      return;  // serve() sees the listener stop and exits 1
    }
    loops_.push_back(std::move(loop));
  }
  running_.store(true);
  for (auto& loop : loops_) {
    Loop* l = loop.get();
    l->thread = std::thread([l] { l->run(); });
  }
  for (auto& loop : loops_) {
    loop->thread.join();
  }
  running_.store(false);
}

void Frontend::stop() {
  stopping_.store(true);
  const int fd = listener_.exchange(-1);
  if (fd >= 0) {
    ::close(fd);  // leaves every loop's epoll set: new connections are refused from here on
  }
  for (auto& loop : loops_) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(loop->wake, &one, sizeof(one));
  }
}

void Frontend::note_accept_pause(int error) {
  pauses_unlogged_.fetch_add(1);
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
          .count() +
      kPauseLogIntervalMs;  // never 0, the "not yet logged" mark
  std::int64_t last = last_pause_log_ms_.load();
  if ((last != 0 && now - last < kPauseLogIntervalMs) ||
      !last_pause_log_ms_.compare_exchange_strong(last, now)) {
    return;  // logged less than a second ago, or by another loop just now
  }
  log_event(spdlog::level::warn, "out of file descriptors: accepting paused",
            {{"listener", to_string(options_.listener)},
             {"error", describe_accept_error(error)},
             {"pauses", pauses_unlogged_.exchange(0)},
             {"pause_ms", kAcceptPause.count()},
             {"connections", connections_.load()}});
}

Frontend::Loop::Loop(Frontend& f) : owner(f) {
  epoll = epoll_create1(EPOLL_CLOEXEC);
  wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Frontend::Loop::~Loop() {
  if (epoll >= 0) {
    ::close(epoll);
  }
  if (wake >= 0) {
    ::close(wake);
  }
  for (const Handoff& h : handoff) {
    ::close(h.fd);  // handed over while this loop was stopping
  }
}

void Frontend::Loop::run() {
  epoll_event events[64];
  auto next_tick = Clock::now() + std::chrono::milliseconds(kTickMs);
  for (;;) {
    if (owner.stopping_.load()) {
      close_idle();
      if (connections.empty()) {
        return;
      }
    }
    const int n = epoll_wait(epoll, events, 64, wait_timeout_ms(next_tick));
    for (int i = 0; i < n; ++i) {
      void* ptr = events[i].data.ptr;
      if (ptr == nullptr) {
        accept_one();
      } else if (ptr == &wake) {
        std::uint64_t value = 0;
        [[maybe_unused]] const auto r = ::read(wake, &value, sizeof(value));
        take_handoffs();
      } else {
        serve(*static_cast<Connection*>(ptr));
      }
    }
    const auto now = Clock::now();
    if (!accepting && now >= resume_at) {
      resume_accepting();
    }
    if (now >= next_tick) {
      check_deadlines();
      next_tick = Clock::now() + std::chrono::milliseconds(kTickMs);
    }
  }
}

// Until the next deadline check, or sooner when accepting is paused.
int Frontend::Loop::wait_timeout_ms(Clock::time_point next_tick) const {
  const auto until = accepting ? next_tick : std::min(next_tick, resume_at);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count() + 1;
  return static_cast<int>(std::clamp<std::int64_t>(ms, 0, kTickMs));
}

// One connection per wake.
void Frontend::Loop::accept_one() {
  const int listener = owner.listener_.load();
  if (listener < 0 || !accepting) {
    return;
  }
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    place(fd);
  } else if (out_of_descriptors(errno)) {
    pause_accepting(errno);
  }
  // EAGAIN: another loop took it; ECONNABORTED and the like concern that client only.
}

// A new connection is served by the loop with the fewest. At the cap, the connection that has
// waited longest for its client gives way (here, or on the loop serving the most); if none can,
// the new one is closed.
void Frontend::Loop::place(int fd) {
  if (owner.connections_.load() < owner.options_.max_connections) {
    Loop* target = this;
    for (const auto& loop : owner.loops_) {
      if (loop->load.load() < target->load.load()) {
        target = loop.get();
      }
    }
    target->count_in();
    if (target == this) {
      adopt(fd);
      return;
    }
    target->hand_over(fd, true);
    return;
  }
  if (evict_one()) {
    count_in();
    adopt(fd);
    return;
  }
  Loop* fullest = nullptr;
  for (const auto& loop : owner.loops_) {
    if (loop.get() != this && (fullest == nullptr || loop->load.load() > fullest->load.load())) {
      fullest = loop.get();
    }
  }
  if (fullest == nullptr) {
    refuse(fd);
    return;
  }
  fullest->hand_over(fd, false);
}

// Queues a socket accepted by another loop for this one, and wakes it.
void Frontend::Loop::hand_over(int fd, bool counted) {
  {
    const std::lock_guard<std::mutex> lock(handoff_mutex);
    handoff.push_back({fd, counted});
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake, &one, sizeof(one));
}

// A socket is counted for this loop (in `load`, the owner's count and the gauge).
void Frontend::Loop::count_in() {
  load.fetch_add(1);
  owner.connections_.fetch_add(1);
  owner.state_.metrics.add_open_connections(owner.options_.listener, 1);
}

// A socket counted for this loop is gone.
void Frontend::Loop::uncount() {
  load.fetch_sub(1);
  owner.connections_.fetch_sub(1);
  owner.state_.metrics.add_open_connections(owner.options_.listener, -1);
}

void Frontend::Loop::pause_accepting(int error) {
  const int listener = owner.listener_.load();
  if (accepting && listener >= 0) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, listener, nullptr);
  }
  accepting = false;
  resume_at = Clock::now() + kAcceptPause;
  owner.state_.metrics.count_accept_pause(owner.options_.listener);
  owner.note_accept_pause(error);
}

void Frontend::Loop::resume_accepting() {
  accepting = true;
  const int listener = owner.listener_.load();
  if (listener < 0 || owner.stopping_.load()) {
    return;  // closed by stop(), which took it out of every epoll set
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.ptr = nullptr;
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev);
}

// Closes the connection of this loop that has waited longest for its client: idle ones first
// (in their TLS handshake, or between requests), then requests still arriving, then answers the
// client is not taking (a client that pipelines and never reads would otherwise hold its place
// until its deadline). False when the loop has no connection.
bool Frontend::Loop::evict_one() {
  auto rank = [](const Connection& c) { return c.idle() ? 0 : c.out.empty() ? 1 : 2; };
  Connection* victim = nullptr;
  int victim_rank = 0;
  for (auto& [fd, c] : connections) {
    const int r = rank(*c);
    if (victim == nullptr || r < victim_rank || (r == victim_rank && c->since < victim->since)) {
      victim = c.get();
      victim_rank = r;
    }
  }
  if (victim == nullptr) {
    return false;
  }
  close(*victim);
  owner.state_.metrics.count_evicted(owner.options_.listener);
  return true;
}

void Frontend::Loop::refuse(int fd) {
  ::close(fd);
  owner.state_.metrics.count_refused(owner.options_.listener);
}

// Serves the sockets other loops accepted for this one (closes them when stopping).
void Frontend::Loop::take_handoffs() {
  std::vector<Handoff> items;
  {
    const std::lock_guard<std::mutex> lock(handoff_mutex);
    items.swap(handoff);
  }
  for (const Handoff& h : items) {
    if (owner.stopping_.load()) {
      ::close(h.fd);
      if (h.counted) {
        uncount();
      }
      continue;
    }
    if (!h.counted) {
      if (owner.connections_.load() >= owner.options_.max_connections && !evict_one()) {
        refuse(h.fd);
        continue;
      }
      count_in();
    }
    adopt(h.fd);
  }
}

// Starts serving an accepted socket (already counted).
void Frontend::Loop::adopt(int fd) {
  auto c = std::make_unique<Connection>();
  c->fd = fd;
  c->since = Clock::now();
  c->deadline = c->since + owner.options_.request_timeout;
  if (owner.tls_ != nullptr) {
    c->ssl = SSL_new(owner.tls_->ctx);
    if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
      ERR_clear_error();
      uncount();
      return;  // the Connection closes fd
    }
    SSL_set_accept_state(c->ssl);
  } else {
    c->phase = Phase::kWaiting;
  }
  const int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  Connection& ref = *c;
  connections.emplace(fd, std::move(c));
  set_events(ref);
  serve(ref);
}

void Frontend::Loop::close(Connection& c) {
  uncount();
  epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
  connections.erase(c.fd);  // frees the SSL, closes the socket
  if (!accepting) {
    resume_at = Clock::now();  // a descriptor is free: accept again at the end of this wake
  }
}

void Frontend::Loop::check_deadlines() {
  const auto now = Clock::now();
  std::vector<Connection*> expired;
  std::uint64_t cut = 0;
  for (auto& [fd, c] : connections) {
    const bool keeping_alive = c->phase == Phase::kWaiting && c->idle();
    if (keeping_alive && now >= c->idle_until) {
      expired.push_back(c.get());  // keep-alive ended: not a timeout
    } else if (now >= c->deadline) {
      expired.push_back(c.get());
      if (c->out.empty()) {
        ++cut;  // a handshake or request that did not arrive in time
      }
    }
  }
  for (Connection* c : expired) {
    close(*c);
  }
  if (cut > 0) {
    owner.state_.metrics.count_request_timeouts(cut);
    log_event(spdlog::level::warn, "closed connections that did not send a whole request in time",
              {{"listener", to_string(owner.options_.listener)},
               {"connections", cut},
               {"request_timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                          owner.options_.request_timeout)
                                          .count()}});
  }
}

// Stopping: connections without a request in flight are closed; the others finish theirs.
void Frontend::Loop::close_idle() {
  std::vector<Connection*> idle;
  for (auto& [fd, c] : connections) {
    if (c->idle()) {
      idle.push_back(c.get());
    }
  }
  for (Connection* c : idle) {
    close(*c);
  }
}

}  // namespace sigv4::server
