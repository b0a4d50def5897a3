#include "guest/client/process.h"

#include <atomic>
#include <cstdlib>
#include <new>

#include "guest/client/log.h"

namespace vgpu::guest {
namespace {

// Plain atomics: constant-initialized, no destructors, usable at any point of exit.
std::atomic<Channel*> g_channel{nullptr};
std::atomic<bool> g_exiting{false};

void mark_exiting() { g_exiting.store(true, std::memory_order_release); }

Channel* open_channel() noexcept {
  try {
    auto channel = Channel::open();
    if (!channel) {
      log(LogLevel::Warn, "%s", channel.error().message.c_str());
      return nullptr;
    }
    // Registered after the application's own atexit handlers (nvcc registers them from
    // constructors, before any API call), so this runs before them: the module unloads those
    // handlers would post are skipped. vgpud drops a process's modules when it goes away.
    std::atexit(mark_exiting);
    return channel.value().release();
  } catch (const std::bad_alloc&) {
    log(LogLevel::Warn, "out of memory while connecting to vgpud");
  } catch (...) {
    log(LogLevel::Warn, "unexpected failure while connecting to vgpud");
  }
  return nullptr;
}

// Runs when the client is unloaded at process exit, after every atexit handler and after the
// shims' own destructors (the loader finalizes a library's users before the library): no more
// API traffic is expected, so the channel goes back to vgpud now. On a VM this frees the slot
// at once instead of after the lease times out.
[[gnu::destructor]] void hand_back_at_exit() {
  if (Channel* channel = g_channel.load(std::memory_order_acquire)) {
    mark_exiting();
    channel->hand_back();
  }
}

}  // namespace

Channel* process_channel() noexcept {
  if (Channel* channel = g_channel.load(std::memory_order_acquire)) return channel;
  // A function-local static of pointer type: initialized once, thread-safe, never destroyed.
  // A failed open is remembered too, so the failure is reported once.
  static Channel* const opened = [] {
    Channel* channel = open_channel();
    g_channel.store(channel, std::memory_order_release);
    return channel;
  }();
  return opened;
}

bool process_exiting() noexcept { return g_exiting.load(std::memory_order_acquire); }

}  // namespace vgpu::guest
