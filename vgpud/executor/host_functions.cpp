// The guest's host-function queue, vgpud's side (host_functions.h).
#include "vgpud/executor/host_functions.h"

#include <chrono>
#include <thread>

#include "vgpu/protocol/host_func_queue.h"

namespace vgpud {

namespace {

uint64_t* produced_word(uint8_t* base) {
  return reinterpret_cast<uint64_t*>(base + offsetof(vgpu::proto::HostFuncQueueHeader, produced));
}
const uint64_t* completed_word(const uint8_t* base) {
  return reinterpret_cast<const uint64_t*>(base + offsetof(vgpu::proto::HostFuncQueueHeader, completed));
}
uint64_t* entry(uint8_t* base, uint64_t index, uint32_t capacity) {
  return reinterpret_cast<uint64_t*>(base + sizeof(vgpu::proto::HostFuncQueueHeader)) + index % capacity;
}

}  // namespace

HostFunctionQueue& HostFunctionQueue::of_process() {
  static auto* queue = new HostFunctionQueue;  // never destroyed: see host_functions.h
  return *queue;
}

bool HostFunctionQueue::attach(uint8_t* base, uint32_t capacity) {
  std::lock_guard<std::mutex> lock(mu_);
  if (base_ != nullptr) return false;
  base_ = base;
  capacity_ = capacity;
  return true;
}

bool HostFunctionQueue::attached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return base_ != nullptr;
}

void HostFunctionQueue::release() { released_.store(true, std::memory_order_release); }

uint64_t HostFunctionQueue::handed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return produced_;
}

void CUDA_CB HostFunctionQueue::run_in_guest(void* function) {
  of_process().run(reinterpret_cast<uint64_t>(function));
}

void CUDA_CB HostFunctionQueue::post_in_guest(void* function) {
  of_process().run(reinterpret_cast<uint64_t>(function), /*wait=*/false);
}

void HostFunctionQueue::run(uint64_t function, bool wait) {
  uint64_t index = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (base_ == nullptr || released_.load(std::memory_order_acquire)) return;
    // A full queue: wait for the oldest entry's function to return before overwriting it. The
    // entries in it are the driver's other callbacks, each waiting for its own.
    if (produced_ >= capacity_) wait_completed_above(produced_ - capacity_);
    index = produced_++;
    __atomic_store_n(entry(base_, index, capacity_), function, __ATOMIC_RELAXED);
    __atomic_store_n(produced_word(base_), produced_, __ATOMIC_RELEASE);
  }
  if (wait) wait_completed_above(index);
}

void HostFunctionQueue::wait_completed_above(uint64_t count) const {
  // Spin briefly (a host function that only sets a flag returns within microseconds), then
  // sleep, longer each time, up to a millisecond.
  auto nap = std::chrono::microseconds(0);
  for (int round = 0;; ++round) {
    if (released_.load(std::memory_order_acquire)) return;
    if (__atomic_load_n(completed_word(base_), __ATOMIC_ACQUIRE) > count) return;
    if (round < 200) {
      std::this_thread::yield();
      continue;
    }
    nap = std::min(std::chrono::microseconds(1000), nap + nap / 2 + std::chrono::microseconds(5));
    std::this_thread::sleep_for(nap);
  }
}

}  // namespace vgpud
