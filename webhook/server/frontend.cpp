#include "server/frontend.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "server/logging.h"
#include "server/review.h"
#include "server/tls.h"

namespace sigv4::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 16 * 1024;  // plaintext per SSL_read
constexpr int kTickMs = 250;                   // deadline checks

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

bool is_review_path(const std::string& path) {
  return path == "/mutate" || path == "/mutate/annotated";
}

// The route of a review path.
Route route_of(const std::string& path) {
  return path == "/mutate" ? Route::kMutate : Route::kMutateAnnotated;
}

// The one method each known path takes, or null for an unknown path.
const char* allowed_method(const std::string& path) {
  if (is_review_path(path)) {
    return "POST";
  }
  if (path == "/healthz" || path == "/readyz") {
    return "GET";
  }
  return nullptr;
}

}  // namespace

struct Frontend::TlsContext {
  SSL_CTX* ctx = nullptr;
  ~TlsContext() { SSL_CTX_free(ctx); }
};

namespace {

// kWaiting: between requests (before the first one too); kHead, kBody: a request arriving.
enum class Phase { kHandshake, kWaiting, kHead, kBody };

struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;
  Phase phase = Phase::kHandshake;
  std::uint32_t events = 0;  // what epoll waits for
  bool want_write = false;   // the last TLS call needs the socket writable
  std::string in;            // plaintext received, not yet consumed
  std::string out;           // plaintext to send
  std::size_t out_sent = 0;
  bool close_after_write = false;
  bool eof = false;  // the peer closed its side
  // The handshake and first request are due by `deadline`; after an answer, a connection with
  // nothing pending is idle until `idle_until` (keep-alive), and the next request (or taking the
  // answer) is due by `deadline`.
  Clock::time_point deadline;
  Clock::time_point idle_until = Clock::time_point::max();
  // The request being read.
  RequestHead head;
  BodyReader reader;

  ~Connection() {
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

}  // namespace

struct Frontend::Loop {
  Frontend& owner;
  int epoll = -1;
  int wake = -1;  // eventfd: stop() was called
  std::unordered_map<int, std::unique_ptr<Connection>> connections;
  std::thread thread;
  // Connections this loop serves or has been handed: a new connection goes to the loop with the
  // fewest, so that a burst of requests is shared by every core (left to the kernel, one loop
  // got two thirds of the work and its queue set the latency).
  std::atomic<std::size_t> load{0};
  std::mutex handoff_mutex;
  std::vector<int> handoff;  // sockets another loop accepted for this one

  explicit Loop(Frontend& f) : owner(f) {
    epoll = epoll_create1(EPOLL_CLOEXEC);
    wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~Loop() {
    if (epoll >= 0) {
      ::close(epoll);
    }
    if (wake >= 0) {
      ::close(wake);
    }
    for (const int fd : handoff) {
      ::close(fd);  // handed over while this loop was stopping
    }
  }

  void run();
  void accept_one();
  void take_handoffs();
  void adopt(int fd);
  void serve(Connection& c);
  void uncount();
  void drive(Connection& c);
  bool read_tls(Connection& c);
  bool write_tls(Connection& c);
  bool consume(Connection& c);
  bool consume_body(Connection& c);
  void answer(Connection& c);
  void answer_error(Connection& c, int status, const std::string& message);
  void answer_oversized(Connection& c);
  void queue(Connection& c, const httplib::Response& res, bool with_body);
  void request_done(Connection& c);
  void set_events(Connection& c);
  void close(Connection& c);
  void check_deadlines();
  void close_idle();
};

Frontend::Frontend(ServerState& state, FrontendOptions options)
    : state_(state), options_(std::move(options)) {}

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
  auto try_bind = [this](const std::string& host, int port) -> int {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr) {
      return -1;
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, &freeaddrinfo);
    const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return -1;
    }
    const int yes = 1;
    const int no = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (found->ai_family == AF_INET6) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));  // IPv4 arrives mapped
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
      ::close(fd);
      return -1;
    }
    listener_.store(fd);
    return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  };
  if (!address.host.empty()) {
    return {address.host, try_bind(address.host, address.port)};
  }
  const int port = try_bind("::", address.port);
  if (port >= 0) {
    return {"::", port};
  }
  return {"0.0.0.0", try_bind("0.0.0.0", address.port)};
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
      log_event(spdlog::level::err, "cannot start the webhook's event loops");
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
    const int n = epoll_wait(epoll, events, 64, kTickMs);
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
    if (Clock::now() >= next_tick) {
      check_deadlines();
      next_tick = Clock::now() + std::chrono::milliseconds(kTickMs);
    }
  }
}

// One connection per wake; it is served by the loop with the fewest connections.
void Frontend::Loop::accept_one() {
  const int listener = owner.listener_.load();
  if (listener < 0) {
    return;
  }
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    return;  // EAGAIN: another loop took it; errors: try at the next wake
  }
  if (owner.connections_.load() >= owner.options_.max_connections) {
    ::close(fd);
    return;
  }
  owner.connections_.fetch_add(1);
  Loop* target = this;
  for (const auto& loop : owner.loops_) {
    if (loop->load.load() < target->load.load()) {
      target = loop.get();
    }
  }
  target->load.fetch_add(1);
  if (target == this) {
    adopt(fd);
    return;
  }
  {
    const std::lock_guard<std::mutex> lock(target->handoff_mutex);
    target->handoff.push_back(fd);
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(target->wake, &one, sizeof(one));
}

// Serves the sockets other loops accepted for this one (closes them when stopping).
void Frontend::Loop::take_handoffs() {
  std::vector<int> fds;
  {
    const std::lock_guard<std::mutex> lock(handoff_mutex);
    fds.swap(handoff);
  }
  for (const int fd : fds) {
    if (owner.stopping_.load()) {
      ::close(fd);
      uncount();
    } else {
      adopt(fd);
    }
  }
}

// Starts serving an accepted socket (already counted in `load` and the owner's connections).
void Frontend::Loop::adopt(int fd) {
  const int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  auto c = std::make_unique<Connection>();
  c->fd = fd;
  c->ssl = SSL_new(owner.tls_->ctx);
  if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
    ERR_clear_error();
    uncount();
    return;  // the Connection closes fd
  }
  SSL_set_accept_state(c->ssl);
  c->deadline = Clock::now() + owner.options_.request_timeout;
  Connection& ref = *c;
  connections.emplace(fd, std::move(c));
  set_events(ref);
  serve(ref);
}

// Drives a connection; one whose handling throws (out of memory) is closed, not the loop.
void Frontend::Loop::serve(Connection& c) {
  const int fd = c.fd;
  try {
    drive(c);
  } catch (const std::exception& error) {
    log_event(spdlog::level::err, "connection failed", {{"error", error.what()}});
    if (auto it = connections.find(fd); it != connections.end() && it->second.get() == &c) {
      close(c);
    }
  }
}

void Frontend::Loop::set_events(Connection& c) {
  std::uint32_t wanted = EPOLLIN | EPOLLRDHUP;
  if (c.want_write) {
    wanted |= EPOLLOUT;
  }
  if (wanted == c.events) {
    return;
  }
  epoll_event ev{};
  ev.events = wanted;
  ev.data.ptr = &c;
  epoll_ctl(epoll, c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
  c.events = wanted;
}

// A socket counted for this loop (accept_one) is gone.
void Frontend::Loop::uncount() {
  load.fetch_sub(1);
  owner.connections_.fetch_sub(1);
}

void Frontend::Loop::close(Connection& c) {
  uncount();
  epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
  connections.erase(c.fd);  // frees the SSL, closes the socket
}

// Handshakes, writes what is pending, answers what has arrived and reads more, until the socket
// has nothing more for now.
void Frontend::Loop::drive(Connection& c) {
  if (c.phase == Phase::kHandshake) {
    const int r = SSL_accept(c.ssl);
    if (r != 1) {
      const int error = SSL_get_error(c.ssl, r);
      ERR_clear_error();
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        c.want_write = error == SSL_ERROR_WANT_WRITE;
        set_events(c);
      } else {
        close(c);  // not TLS, or a handshake we refuse
      }
      return;
    }
    c.phase = Phase::kWaiting;  // the first request is due by the handshake's deadline
  }
  bool read_once = false;
  for (;;) {
    if (!write_tls(c)) {
      close(c);
      return;
    }
    if (!c.out.empty()) {
      set_events(c);  // the rest when the socket takes it
      return;
    }
    if (c.close_after_write) {
      close(c);
      return;
    }
    if (!consume(c)) {
      continue;  // an answer (or 100 Continue) to write
    }
    if (c.eof) {
      close(c);  // the peer is done and nothing it sent is left to answer
      return;
    }
    if (read_once && !SSL_has_pending(c.ssl)) {
      // What was read is consumed: epoll (level-triggered) says when the socket has more, so no
      // read is spent to learn that it has not.
      set_events(c);
      return;
    }
    read_once = true;
    const std::size_t before = c.in.size();
    if (!read_tls(c)) {
      close(c);
      return;
    }
    if (c.in.size() == before && !c.eof) {
      set_events(c);
      return;
    }
  }
}

// Reads what TLS has now into `in` (`eof` once the peer has closed); false when the connection
// failed.
bool Frontend::Loop::read_tls(Connection& c) {
  char buffer[kReadChunk];
  for (;;) {
    const int n = SSL_read(c.ssl, buffer, sizeof(buffer));
    if (n > 0) {
      c.in.append(buffer, static_cast<std::size_t>(n));
      if (c.in.size() >= kReadChunk || !SSL_has_pending(c.ssl)) {
        return true;  // consume before reading more; and the socket is asked only when needed
      }
      continue;
    }
    const int error = SSL_get_error(c.ssl, n);
    ERR_clear_error();
    if (error == SSL_ERROR_WANT_READ) {
      c.want_write = false;
      return true;
    }
    if (error == SSL_ERROR_WANT_WRITE) {
      c.want_write = true;
      return true;
    }
    if (error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL) {
      c.eof = true;  // answer what came before the close
      return true;
    }
    return false;
  }
}

// Writes what is pending; false when the connection failed.
bool Frontend::Loop::write_tls(Connection& c) {
  while (c.out_sent < c.out.size()) {
    const int n =
        SSL_write(c.ssl, c.out.data() + c.out_sent,
                  static_cast<int>(std::min<std::size_t>(c.out.size() - c.out_sent, 1 << 30)));
    if (n > 0) {
      c.out_sent += static_cast<std::size_t>(n);
      continue;
    }
    const int error = SSL_get_error(c.ssl, n);
    ERR_clear_error();
    if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
      c.want_write = error == SSL_ERROR_WANT_WRITE;
      return true;
    }
    return false;
  }
  c.out.clear();
  c.out_sent = 0;
  c.want_write = false;
  return true;
}

// Parses and answers what `in` holds. Returns true when more bytes are needed, false when an
// answer was queued (the caller writes it, then calls again).
bool Frontend::Loop::consume(Connection& c) {
  if (c.phase == Phase::kWaiting) {
    if (c.in.empty()) {
      return true;
    }
    c.phase = Phase::kHead;
    c.head = RequestHead{};
  }
  if (c.phase == Phase::kHead) {
    const auto end = c.in.find("\r\n\r\n");
    if ((end == std::string::npos ? c.in.size() : end) > kMaxHeadBytes) {
      answer_error(c, 431,
                   "request headers larger than " + std::to_string(kMaxHeadBytes) + " bytes");
      return false;
    }
    if (end == std::string::npos) {
      return true;
    }
    const std::string problem = parse_request_head(std::string_view(c.in).substr(0, end), c.head);
    c.in.erase(0, end + 4);
    if (!problem.empty()) {
      answer_error(c, 400, problem);
      return false;
    }
    const std::uint64_t max = owner.options_.max_body_bytes;
    const std::uint64_t drain = max > UINT64_MAX / 4 ? UINT64_MAX : max * 4;
    if (c.head.has_length && c.head.content_length > drain) {
      answer_oversized(c);
      return false;
    }
    c.reader.start(c.head, max == UINT64_MAX ? max : max + 1, drain);
    if (c.head.expect_continue && !c.head.http10 && (c.head.chunked || c.head.content_length > 0)) {
      c.out += "HTTP/1.1 100 Continue\r\n\r\n";
    }
    c.phase = Phase::kBody;
  }
  if (!consume_body(c)) {
    return c.out.empty();  // more bytes, unless a 100 Continue or an error is to be written
  }
  answer(c);
  return false;
}

// Moves body bytes from `in` (keeping at most max + 1, so serve_review sees an over-long body
// as such); true when the body is complete.
bool Frontend::Loop::consume_body(Connection& c) {
  switch (c.reader.feed(c.in)) {
    case BodyReader::Status::kMore:
      return false;
    case BodyReader::Status::kDone:
      return true;
    case BodyReader::Status::kMalformed:
      answer_error(c, 400, "malformed chunked body");
      return false;
    case BodyReader::Status::kTooLong:
      answer_oversized(c);
      return false;
  }
  return false;
}

void Frontend::Loop::answer_error(Connection& c, int status, const std::string& message) {
  httplib::Response res;
  reply_error(res, status, message);
  c.close_after_write = true;
  queue(c, res, true);
  c.phase = Phase::kWaiting;
}

// A body past what is drained (4 x the limit): a review is refused 413, any other request gets
// its path's own answer (404, 405); either way the connection closes, the rest unread.
void Frontend::Loop::answer_oversized(Connection& c) {
  c.head.keep_alive = false;
  if (!is_review_path(c.head.path) || c.head.method != "POST") {
    answer(c);
    return;
  }
  owner.state_.metrics.count_request(route_of(c.head.path), Result::kTooLarge);
  log_event(spdlog::level::warn, "request body too large", {{"path", c.head.path}});
  answer_error(
      c, 413,
      "request body larger than " + std::to_string(owner.options_.max_body_bytes) + " bytes");
}

// Answers a complete request with the routes of routes.cpp: reviews, health, refusals.
void Frontend::Loop::answer(Connection& c) {
  const RequestHead& head = c.head;
  httplib::Response res;
  const char* allow = allowed_method(head.path);
  const bool get = head.method == "GET" || head.method == "HEAD";
  if (allow == nullptr) {
    reply_error(res, 404, "not found");
  } else if (is_review_path(head.path) && head.method == "POST") {
    ReviewRoute review{&owner.state_, route_of(head.path), owner.options_.json_limits,
                       owner.options_.max_body_bytes, &review_text};
    httplib::Request req;
    req.method = head.method;
    req.path = head.path;
    if (!head.content_type.empty()) {
      req.headers.emplace("Content-Type", head.content_type);
    }
    const std::string& body = c.reader.body();
    httplib::ContentReader reader(
        [&body](httplib::ContentReceiver receive) {
          return body.empty() || receive(body.data(), body.size());
        },
        [](httplib::MultipartContentHeader, httplib::ContentReceiver) { return false; });
    serve_review(review, req, res, reader);
  } else if (std::string_view(allow) == "GET" && get) {
    if (head.path == "/readyz" && !owner.state_.ready()) {
      res.status = 503;
      res.set_content("not ready\n", "text/plain");
    } else {
      res.status = 200;
      res.set_content("ok\n", "text/plain");
    }
  } else {
    res.set_header("Allow", allow);
    reply_error(res, 405, "method not allowed; use " + std::string(allow));
    if (is_review_path(head.path)) {
      owner.state_.metrics.count_request(route_of(head.path), Result::kMethodNotAllowed);
    }
  }
  c.close_after_write = !head.keep_alive || owner.stopping_.load();
  std::string().swap(c.reader.body());
  queue(c, res, head.method != "HEAD");
  request_done(c);
}

// The answer as one buffer: status line, headers, body (a HEAD answer has the GET's length).
void Frontend::Loop::queue(Connection& c, const httplib::Response& res, bool with_body) {
  std::string& out = c.out;
  out.reserve(out.size() + res.body.size() + 256);
  const int status = res.status < 0 ? 200 : res.status;  // cpp-httplib's "not set"
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  for (const auto& [name, value] : res.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(res.body.size());
  out +=
      c.close_after_write ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n";
  if (with_body) {
    out += res.body;
  }
}

void Frontend::Loop::request_done(Connection& c) {
  const auto now = Clock::now();
  c.phase = Phase::kWaiting;
  c.idle_until = now + owner.options_.keep_alive;
  c.deadline = now + owner.options_.keep_alive + owner.options_.request_timeout;
}

void Frontend::Loop::check_deadlines() {
  const auto now = Clock::now();
  std::vector<Connection*> expired;
  std::uint64_t cut = 0;
  for (auto& [fd, c] : connections) {
    const bool idle = c->phase == Phase::kWaiting && c->in.empty() && c->out.empty();
    if (idle && now >= c->idle_until) {
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
              {{"connections", cut},
               {"request_timeout_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                          owner.options_.request_timeout)
                                          .count()}});
  }
}

// Stopping: connections without a request in flight are closed; the others finish theirs.
void Frontend::Loop::close_idle() {
  std::vector<Connection*> idle;
  for (auto& [fd, c] : connections) {
    const bool waiting = c->phase == Phase::kHandshake ||
                         (c->phase == Phase::kWaiting && c->in.empty() && c->out.empty());
    if (waiting) {
      idle.push_back(c.get());
    }
  }
  for (Connection* c : idle) {
    close(*c);
  }
}

}  // namespace sigv4::server
