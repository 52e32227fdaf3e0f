#include "server/deadline.h"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <utility>

#include "server/logging.h"

namespace sigv4::server {
namespace {

// The SSL_CTX ex_data slot pointing at the RequestDeadlines that hooked the context.
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// How often the watchdog looks: deadlines are honoured to within this.
constexpr std::chrono::milliseconds kTick{250};

}  // namespace

RequestDeadlines::RequestDeadlines(std::chrono::milliseconds request,
                                   std::chrono::milliseconds idle,
                                   std::function<void(std::uint64_t)> on_expired)
    : request_(request), idle_(idle), on_expired_(std::move(on_expired)) {
  // argp carries `this` to on_free, which OpenSSL calls for every SSL it frees.
  ssl_index_ = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, this, nullptr, nullptr,
                                       &RequestDeadlines::on_free);
}

RequestDeadlines::~RequestDeadlines() { stop(); }

bool RequestDeadlines::attach(SSL_CTX& ctx) {
  if (ssl_index_ < 0 || context_index() < 0 ||
      SSL_CTX_set_ex_data(&ctx, context_index(), this) != 1) {
    return false;
  }
  SSL_CTX_set_info_callback(&ctx, &RequestDeadlines::on_info);
  return true;
}

void RequestDeadlines::on_info(const SSL* ssl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) {
    return;
  }
  auto* self =
      static_cast<RequestDeadlines*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
  if (self != nullptr) {
    self->begin(ssl);
  }
}

void RequestDeadlines::on_free(void* parent, void* ptr, CRYPTO_EX_DATA* /*data*/, int /*index*/,
                               long /*argl*/, void* argp) {
  // ptr is what begin() stored: only connections this instance tracks.
  if (ptr != nullptr && argp != nullptr) {
    static_cast<RequestDeadlines*>(argp)->forget(static_cast<const SSL*>(parent));
  }
}

void RequestDeadlines::begin(const SSL* ssl) {
  std::lock_guard lock(mutex_);
  if (entries_.count(ssl) != 0) {
    return;  // a later handshake on the same connection (TLS 1.3 key update and the like)
  }
  entries_.emplace(ssl, Entry{SSL_get_fd(ssl), Clock::now() + request_, false});
  SSL_set_ex_data(const_cast<SSL*>(ssl), ssl_index_, this);
}

void RequestDeadlines::forget(const SSL* ssl) {
  std::lock_guard lock(mutex_);
  entries_.erase(ssl);
}

void RequestDeadlines::request_read(const SSL* ssl) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(ssl); it != entries_.end()) {
    it->second.deadline = Clock::time_point::max();
  }
}

void RequestDeadlines::request_handled(const SSL* ssl) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(ssl); it != entries_.end()) {
    it->second.deadline = Clock::now() + idle_ + request_;
  }
}

void RequestDeadlines::start() {
  std::lock_guard lock(mutex_);
  if (running_) {
    return;
  }
  running_ = true;
  watchdog_ = std::thread([this] { watch(); });
}

void RequestDeadlines::stop() {
  {
    std::lock_guard lock(mutex_);
    running_ = false;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) {
    watchdog_.join();
  }
}

std::uint64_t RequestDeadlines::expired() const {
  std::lock_guard lock(mutex_);
  return expired_;
}

std::size_t RequestDeadlines::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void RequestDeadlines::watch() {
  std::unique_lock lock(mutex_);
  while (running_) {
    wake_.wait_for(lock, kTick, [this] { return !running_; });
    const auto now = Clock::now();
    std::size_t cut = 0;
    for (auto& [ssl, entry] : entries_) {
      if (!entry.cut && entry.deadline <= now) {
        // The descriptor is still this connection's: forget() runs before it is closed, under
        // the same lock. Shutting it down wakes the worker blocked reading it.
        ::shutdown(entry.fd, SHUT_RDWR);
        entry.cut = true;
        ++cut;
      }
    }
    if (cut > 0) {
      expired_ += cut;
      if (on_expired_) {
        on_expired_(cut);
      }
      log_event(spdlog::level::warn, "closed connections that did not send a whole request in time",
                {{"connections", cut}, {"request_timeout_ms", request_.count()}});
    }
  }
}

}  // namespace sigv4::server
