#include "guest/cudart/state.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "guest/client/log.h"

namespace vgpu::cudart {
namespace {

// Plain atomics: constant-initialized, no destructors, usable at any point of exit.
std::atomic<Runtime*> g_runtime{nullptr};
std::atomic<bool> g_exiting{false};

void mark_exiting() { g_exiting.store(true, std::memory_order_release); }

Runtime* open_runtime() noexcept {
  try {
    auto channel = guest::Channel::open();
    if (!channel) {
      guest::log(guest::LogLevel::Warn, "%s", channel.error().message.c_str());
      return nullptr;
    }
    auto* rt = new Runtime(std::move(channel.value()));
    // Registered after the application's own atexit handlers (nvcc registers them from
    // constructors, before any API call), so this runs before them: the module unloads those
    // handlers would post are skipped. vgpud drops a process's modules when it goes away.
    std::atexit(mark_exiting);
    return rt;
  } catch (const std::bad_alloc&) {
    guest::log(guest::LogLevel::Warn, "out of memory while connecting to vgpud");
  } catch (...) {
    guest::log(guest::LogLevel::Warn, "unexpected failure while connecting to vgpud");
  }
  return nullptr;
}

// Runs when the shim is unloaded at process exit, after every atexit handler (the loader's
// destructors come last): no more API traffic is expected, so the channel goes back to vgpud
// now. On a VM this frees the slot at once instead of after the lease times out.
[[gnu::destructor]] void hand_back_at_exit() {
  if (Runtime* rt = g_runtime.load(std::memory_order_acquire)) {
    mark_exiting();
    rt->channel->hand_back();
  }
}

}  // namespace

Runtime::Runtime(std::unique_ptr<guest::Channel> ch)
    : channel(std::move(ch)),
      device_count(std::min<uint32_t>(channel->hello().device_count, limits::kMaxDevices)),
      host_heap(channel->heap_base(), channel->heap_size()) {}

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

bool process_exiting() noexcept { return g_exiting.load(std::memory_order_acquire); }

}  // namespace vgpu::cudart
