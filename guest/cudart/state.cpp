#include "guest/cudart/state.h"

#include <algorithm>
#include <new>

#include "guest/client/log.h"

namespace vgpu::cudart {
namespace {

// A plain atomic: constant-initialized, no destructor, usable at any point of exit.
std::atomic<Runtime*> g_runtime{nullptr};

Runtime* open_runtime() noexcept {
  // Opens the channel, or finds it opened by another shim of the process; a failure to reach
  // vgpud is reported there, once.
  guest::Channel* channel = guest::process_channel();
  if (channel == nullptr) return nullptr;
  try {
    return new Runtime(*channel);
  } catch (const std::bad_alloc&) {
    guest::log(guest::LogLevel::Warn, "out of memory while setting up the CUDA runtime");
  } catch (...) {
    guest::log(guest::LogLevel::Warn, "unexpected failure while setting up the CUDA runtime");
  }
  return nullptr;
}

}  // namespace

Runtime::Runtime(guest::Channel& ch)
    : channel(&ch),
      device_count(std::min<uint32_t>(channel->hello().device_count, limits::kMaxDevices)),
      host_heap(guest::process_host_heap()) {}

Runtime* runtime() noexcept {
  if (Runtime* rt = g_runtime.load(std::memory_order_acquire)) return rt;
  // A function-local static of pointer type: initialized once, thread-safe, never destroyed.
  // A failed open is remembered too, so the failure is reported once.
  static Runtime* const opened = [] {
    Runtime* rt = open_runtime();
    g_runtime.store(rt, std::memory_order_release);
    return rt;
  }();
  return opened;
}

Runtime* runtime_if_open() noexcept { return g_runtime.load(std::memory_order_acquire); }

}  // namespace vgpu::cudart
