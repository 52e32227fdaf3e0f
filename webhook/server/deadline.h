#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace sigv4::server {

// Whole-request deadlines for TLS connections. cpp-httplib's read timeout applies to each recv,
// so a client dripping a byte every few seconds could hold a worker thread forever (slowloris).
// Here each connection must complete its TLS handshake and first request within `request`, and
// each later request within `idle + request` of the previous one's handling; a watchdog shuts
// down the socket of a connection past its deadline, which ends its blocked read at once.
//
// Connections are tracked through the SSL_CTX: the handshake-start callback registers one, the
// SSL's ex_data free callback (run by SSL_free, before cpp-httplib closes the socket) forgets it,
// so the watchdog never touches a descriptor that was closed and reused.
class RequestDeadlines {
 public:
  // `on_expired` is told how many connections each watchdog pass closed (for metrics).
  RequestDeadlines(std::chrono::milliseconds request, std::chrono::milliseconds idle,
                   std::function<void(std::uint64_t)> on_expired = {});
  ~RequestDeadlines();
  RequestDeadlines(const RequestDeadlines&) = delete;
  RequestDeadlines& operator=(const RequestDeadlines&) = delete;

  // Hooks `ctx` (call from the SSL_CTX setup, once). Returns false if OpenSSL refuses.
  bool attach(SSL_CTX& ctx);
  // The request on `ssl` has been read whole: no deadline while it is being handled.
  void request_read(const SSL* ssl);
  // The request read on `ssl` was handled: the next one has `idle + request` from now.
  void request_handled(const SSL* ssl);
  // Starts and stops the watchdog thread.
  void start();
  void stop();
  // Connections closed for missing their deadline, since start.
  std::uint64_t expired() const;
  // Connections tracked now.
  std::size_t tracked() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    int fd;
    Clock::time_point deadline;
    bool cut;
  };

  static void on_info(const SSL* ssl, int where, int ret);
  static void on_free(void* parent, void* ptr, CRYPTO_EX_DATA* data, int index, long argl,
                      void* argp);
  void begin(const SSL* ssl);
  void forget(const SSL* ssl);
  void watch();

  const std::chrono::milliseconds request_;
  const std::chrono::milliseconds idle_;
  const std::function<void(std::uint64_t)> on_expired_;
  int ssl_index_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::unordered_map<const SSL*, Entry> entries_;
  std::uint64_t expired_ = 0;
  bool running_ = false;
  std::thread watchdog_;
};

}  // namespace sigv4::server
