// One connection of the front end (frontend_loop.h): the TLS handshake, reads and writes over
// TLS or plain TCP, the request's framing and its answer.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <exception>

#include "server/frontend_loop.h"
#include "server/logging.h"
#include "server/review.h"

namespace sigv4::server {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;   // bytes per read (plaintext per SSL_read)
constexpr std::size_t kKeptOutput = 64 * 1024;  // an idle connection's send buffer, at most

bool has_pending(const Connection& c) { return c.ssl != nullptr && SSL_has_pending(c.ssl) == 1; }

}  // namespace

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

// What epoll waits for. While an answer cannot be written the connection waits for the socket
// to take it, and nothing else: polling for input too woke the loop for every byte a client
// that pipelines and never reads sent (level-triggered: ~24,000 wake-ups a second each).
void Frontend::Loop::set_events(Connection& c) {
  std::uint32_t wanted = EPOLLIN | EPOLLRDHUP;
  if (c.want_write) {
    wanted = EPOLLOUT;
  } else if (!c.out.empty()) {
    wanted = EPOLLIN;  // TLS needs to read before it can write
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

// The TLS handshake; true once done (else the connection waits for the socket, or is closed).
bool Frontend::Loop::handshake(Connection& c) {
  const int r = SSL_accept(c.ssl);
  if (r == 1) {
    c.phase = Phase::kWaiting;  // the first request is due by the handshake's deadline
    c.want_write = false;
    return true;
  }
  const int error = SSL_get_error(c.ssl, r);
  ERR_clear_error();
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    c.want_write = error == SSL_ERROR_WANT_WRITE;
    set_events(c);
  } else {
    close(c);  // not TLS, or a handshake we refuse
  }
  return false;
}

// Handshakes, writes what is pending, answers what has arrived and reads more, until the socket
// has nothing more for now.
void Frontend::Loop::drive(Connection& c) {
  if (c.phase == Phase::kHandshake && !handshake(c)) {
    return;
  }
  bool read_once = false;
  for (;;) {
    if (!write_out(c)) {
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
    // What was read is consumed: epoll (level-triggered) says when the socket has more, so no
    // read is spent to learn that it has not.
    if (read_once && !has_pending(c)) {
      break;
    }
    read_once = true;
    const ReadResult read = read_some(c);
    if (read == ReadResult::kFailed) {
      close(c);
      return;
    }
    if (read == ReadResult::kNothing) {
      break;
    }
  }
  if (c.idle() && c.in.capacity() > 0) {
    std::string().swap(c.in);  // idle: give the buffer back
    c.in_used = 0;
    c.head_scanned = 0;
  }
  set_events(c);
}

// Reads what the socket (or TLS) has now into `in` (`eof` once the peer has closed).
ReadResult Frontend::Loop::read_some(Connection& c) {
  if (c.in_used > 0) {  // drop what is consumed: once a read, not once a chunk or a request
    c.in.erase(0, c.in_used);
    c.head_scanned -= std::min(c.head_scanned, c.in_used);
    c.in_used = 0;
  }
  const std::size_t before = c.in.size();
  char buffer[kReadChunk];
  for (;;) {
    if (c.ssl == nullptr) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof(buffer), 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0) {
        c.eof = true;
      } else if (errno == EINTR) {
        continue;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        c.eof = true;  // reset: answer nothing more, close
      }
      break;
    }
    const int n = SSL_read(c.ssl, buffer, sizeof(buffer));
    if (n > 0) {
      c.in.append(buffer, static_cast<std::size_t>(n));
      if (c.unread() >= kReadChunk || !SSL_has_pending(c.ssl)) {
        break;  // consume before reading more; and the socket is asked only when needed
      }
      continue;
    }
    const int error = SSL_get_error(c.ssl, n);
    ERR_clear_error();
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      c.want_write = error == SSL_ERROR_WANT_WRITE;
    } else if (error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL) {
      c.eof = true;  // answer what came before the close
    } else {
      return ReadResult::kFailed;
    }
    break;
  }
  return c.in.size() != before || c.eof ? ReadResult::kSome : ReadResult::kNothing;
}

// Writes what is pending; false when the connection failed.
bool Frontend::Loop::write_out(Connection& c) {
  while (c.out_sent < c.out.size()) {
    const std::size_t left = std::min<std::size_t>(c.out.size() - c.out_sent, 1 << 30);
    if (c.ssl == nullptr) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, left, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        return false;
      }
      c.want_write = true;
      return true;
    }
    const int n = SSL_write(c.ssl, c.out.data() + c.out_sent, static_cast<int>(left));
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
  if (c.out.capacity() > kKeptOutput) {
    std::string().swap(c.out);  // a large answer's buffer is not kept for the next one
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
    if (c.unread() == 0) {
      return true;
    }
    c.phase = Phase::kHead;
    c.head = RequestHead{};
    c.head_scanned = c.in_used;
    c.since = Clock::now();
  }
  if (c.phase == Phase::kHead && !consume_head(c)) {
    return c.out.empty();
  }
  if (!consume_body(c)) {
    return c.out.empty();  // more bytes, unless a 100 Continue or an error is to be written
  }
  answer(c);
  return false;
}

// Parses the head once it has arrived; true when the body is to be read next. Searches only
// the bytes it has not searched before (a head that arrives a byte at a time costs linear time).
bool Frontend::Loop::consume_head(Connection& c) {
  const std::string_view pending = std::string_view(c.in).substr(c.in_used);
  const std::size_t scanned = c.head_scanned - c.in_used;
  const auto end = pending.find("\r\n\r\n", scanned >= 3 ? scanned - 3 : 0);
  if ((end == std::string_view::npos ? pending.size() : end) > kMaxHeadBytes) {
    answer_error(c, 431, "request headers larger than " + std::to_string(kMaxHeadBytes) + " bytes");
    return false;
  }
  if (end == std::string_view::npos) {
    c.head_scanned = c.in.size();
    return false;
  }
  const std::string problem = parse_request_head(pending.substr(0, end), c.head);
  c.in_used += end + 4;
  if (!problem.empty()) {
    answer_error(c, problem == kTooManyFields ? 431 : 400, problem);
    return false;
  }
  Response res;
  if (owner.routes_.answer_head(c.head, res)) {
    c.close_after_write = true;
    queue(c, res, c.head.method != "HEAD");
    request_done(c);
    return false;
  }
  const std::uint64_t max = owner.options_.max_body_bytes;
  const std::uint64_t drain = max > UINT64_MAX / 4 ? UINT64_MAX : max * 4;
  if (c.head.has_length && c.head.content_length > drain) {
    answer_oversized(c);
    return false;
  }
  c.reader.start(c.head, std::min(owner.routes_.body_to_keep(c.head), drain), drain);
  if (c.head.expect_continue && !c.head.http10 && (c.head.chunked || c.head.content_length > 0)) {
    c.out += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  c.phase = Phase::kBody;
  return true;
}

// Moves body bytes from `in` to the reader (which keeps what the route needs); true when the
// body is complete.
bool Frontend::Loop::consume_body(Connection& c) {
  std::string_view rest = std::string_view(c.in).substr(c.in_used);
  const BodyReader::Status status = c.reader.feed(rest);
  c.in_used = c.in.size() - rest.size();
  switch (status) {
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
  Response res;
  reply_error(res, status, message);
  c.close_after_write = true;
  queue(c, res, true);
  c.phase = Phase::kWaiting;
}

// A body past what is drained: the route's answer (413 for a review), then the connection
// closes, the rest unread.
void Frontend::Loop::answer_oversized(Connection& c) {
  c.head.keep_alive = false;
  Response res;
  owner.routes_.answer_oversized(c.head, res);
  c.close_after_write = true;
  std::string().swap(c.reader.body());
  queue(c, res, c.head.method != "HEAD");
  request_done(c);
}

// Answers a complete request with the listener's routes.
void Frontend::Loop::answer(Connection& c) {
  Response res;
  owner.routes_.answer(c.head, c.reader.body(), res);
  c.close_after_write = !c.head.keep_alive || owner.stopping_.load();
  std::string().swap(c.reader.body());
  queue(c, res, c.head.method != "HEAD");
  request_done(c);
}

// The answer, after what is pending (a HEAD answer has the GET's length).
void Frontend::Loop::queue(Connection& c, const Response& res, bool with_body) {
  append_response(c.out, res, with_body, c.close_after_write);
}

void Frontend::Loop::request_done(Connection& c) {
  const auto now = Clock::now();
  c.phase = Phase::kWaiting;
  c.since = now;
  c.idle_until = now + owner.options_.keep_alive;
  c.deadline = now + owner.options_.keep_alive + owner.options_.request_timeout;
}

}  // namespace sigv4::server
