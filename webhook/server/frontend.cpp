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
#include <memory>
#include <thread>
#include <utility>

#include "server/frontend_loop.h"
#include "server/logging.h"
#include "server/tls.h"

namespace sigv4::server {
namespace {

constexpr int kTickMs = 250;  // deadline checks

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
