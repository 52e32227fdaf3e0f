#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sigv4::server {

// cpp-httplib's task queue, elastic: it starts `min_threads` workers and adds one whenever a
// connection arrives and no worker is idle, up to `max_threads`. cpp-httplib keeps a worker for
// the whole life of a connection, so a fixed pool would let idle keep-alive connections starve
// new clients; this one grows instead.
class ElasticPool final : public httplib::TaskQueue {
 public:
  ElasticPool(std::size_t min_threads, std::size_t max_threads);
  ~ElasticPool() override;
  ElasticPool(const ElasticPool&) = delete;
  ElasticPool& operator=(const ElasticPool&) = delete;

  // Queues a connection; never blocks on the workers.
  void enqueue(std::function<void()> job) override;
  // Runs the queued jobs to completion and joins every worker.
  void shutdown() override;

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  std::size_t max_threads_;
  bool stopping_ = false;
};

}  // namespace sigv4::server
