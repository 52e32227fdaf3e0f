#include "server/pool.h"

#include <algorithm>

namespace sigv4::server {

ElasticPool::ElasticPool(std::size_t min_threads, std::size_t max_threads)
    : max_threads_(std::max<std::size_t>(max_threads, 1)) {
  std::lock_guard lock(mutex_);
  const std::size_t start = std::min(std::max<std::size_t>(min_threads, 1), max_threads_);
  for (std::size_t i = 0; i < start; ++i) {
    threads_.emplace_back([this] { work(); });
  }
}

ElasticPool::~ElasticPool() { shutdown(); }

void ElasticPool::enqueue(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (!stopping_ && jobs_.size() > idle_ && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { work(); });
    }
  }
  wake_.notify_one();
}

void ElasticPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  wake_.notify_all();
  for (auto& thread : threads) {
    thread.join();
  }
}

void ElasticPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
    --idle_;
    if (jobs_.empty()) {
      return;  // stopping, and nothing left to run
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace sigv4::server
