// The hand-off from a channel's mediator thread to its executor thread. The executor spins
// briefly before sleeping, so back-to-back calls do not pay a futex wake-up each.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "vgpud/mediator/request.h"

namespace vgpud {

class WorkQueue {
 public:
  void push(Request r) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(r));
      size_.store(items_.size(), std::memory_order_release);
    }
    cv_.notify_one();
  }

  // Next request; false once closed and drained.
  bool pop(Request* out, std::chrono::microseconds spin) {
    const auto until = std::chrono::steady_clock::now() + spin;
    while (size_.load(std::memory_order_acquire) == 0 && !closed_.load(std::memory_order_acquire) &&
           std::chrono::steady_clock::now() < until) {
    }
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !items_.empty() || closed_.load(); });
    if (items_.empty()) return false;
    *out = std::move(items_.front());
    items_.pop_front();
    size_.store(items_.size(), std::memory_order_release);
    return true;
  }

  size_t size() const { return size_.load(std::memory_order_acquire); }

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_.store(true);
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Request> items_;
  std::atomic<size_t> size_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace vgpud
