// Accepting for the front end (frontend_loop.h): a new connection goes to the loop serving the
// fewest; at the cap the connection waiting longest for its client gives way; out of descriptors
// a loop stops accepting for a while.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "server/frontend_loop.h"
#include "server/logging.h"

namespace sigv4::server {
namespace {

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

}  // namespace sigv4::server
