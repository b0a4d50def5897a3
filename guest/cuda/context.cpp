#include "guest/cuda/context.h"

#include <atomic>
#include <mutex>
#include <unordered_set>

#include "guest/cuda/driver_state.h"
#include "vgpu/protocol/limits.h"

namespace vgpu::cuda {
namespace {

// Plain data: thread-locals with destructors are unusable while threads exit, and programs
// call the driver from exiting threads.
constexpr unsigned kMaxStackDepth = 64;
thread_local Context* t_stack[kMaxStackDepth];
thread_local unsigned t_depth = 0;

struct Contexts {
  std::once_flag primaries_made;
  Context primaries[limits::kMaxDevices];
  std::mutex mutex;
  std::unordered_set<Context*> created;  // by cuCtxCreate, until cuCtxDestroy
};

// Never destroyed (see driver_state.cpp).
Contexts& contexts() {
  static Contexts* c = new Contexts;
  return *c;
}

bool is_primary(const Context* c) {
  const Contexts& all = contexts();
  return c >= all.primaries && c < all.primaries + limits::kMaxDevices;
}

}  // namespace

namespace {
std::atomic<int> g_device_sticky[limits::kMaxDevices];
// Starts at 1 (generation_of reads 0 as "never"), bumped by each reset of the device.
std::atomic<uint64_t> g_device_resets[limits::kMaxDevices];
}  // namespace

uint64_t device_generation(uint32_t device) noexcept {
  return device < limits::kMaxDevices ? g_device_resets[device].load(std::memory_order_acquire) + 1 : 0;
}
void next_device_generation(uint32_t device) noexcept {
  if (device < limits::kMaxDevices) g_device_resets[device].fetch_add(1, std::memory_order_acq_rel);
}

int device_sticky(uint32_t device) noexcept {
  return device < limits::kMaxDevices ? g_device_sticky[device].load(std::memory_order_relaxed) : 0;
}
void set_device_sticky(uint32_t device, int error) noexcept {
  int none = 0;
  if (device < limits::kMaxDevices) g_device_sticky[device].compare_exchange_strong(none, error);
}
void clear_device_sticky(uint32_t device) noexcept {
  if (device < limits::kMaxDevices) g_device_sticky[device].store(0);
}

Context* primary_context(uint32_t device) noexcept {
  if (device >= device_count()) return nullptr;
  Contexts& all = contexts();
  std::call_once(all.primaries_made, [&] {
    for (uint32_t d = 0; d < limits::kMaxDevices; ++d) {
      all.primaries[d].device = d;
      all.primaries[d].primary = true;
      all.primaries[d].id = d + 1;
    }
  });
  return &all.primaries[device];
}

Context* current_context() noexcept { return t_depth == 0 ? nullptr : t_stack[t_depth - 1]; }

Context* context_from_handle(CUcontext handle) noexcept {
  auto* c = reinterpret_cast<Context*>(handle);
  if (c == nullptr) return nullptr;
  if (is_primary(c)) return primary_context(c->device) == c ? c : nullptr;
  Contexts& all = contexts();
  std::lock_guard lock(all.mutex);
  return all.created.count(c) != 0 ? c : nullptr;
}

Context* create_context(uint32_t device, unsigned flags) {
  // Ids after the primary contexts' (1 .. kMaxDevices).
  static std::atomic<uint64_t> next_id{limits::kMaxDevices + 1};
  auto* c = new Context;
  c->id = next_id.fetch_add(1, std::memory_order_relaxed);
  c->device = device;
  c->flags.store(flags);
  Contexts& all = contexts();
  std::lock_guard lock(all.mutex);
  all.created.insert(c);
  return c;
}

bool destroy_context(Context* c) {
  if (c == nullptr || is_primary(c)) return false;
  {
    Contexts& all = contexts();
    std::lock_guard lock(all.mutex);
    if (all.created.erase(c) == 0) return false;
  }
  c->storage.destroy_all(handle_of(c));
  // The calling thread forgets it; another thread's stack keeping it is the program's error,
  // as with the driver.
  for (unsigned i = 0; i < t_depth; ++i)
    if (t_stack[i] == c) t_stack[i] = nullptr;
  while (t_depth > 0 && t_stack[t_depth - 1] == nullptr) --t_depth;
  delete c;
  return true;
}

void set_current_context(Context* c) noexcept {
  if (c == nullptr) {
    if (t_depth > 0) --t_depth;
    return;
  }
  if (t_depth == 0) t_depth = 1;
  t_stack[t_depth - 1] = c;
}

bool push_context(Context* c) noexcept {
  if (t_depth >= kMaxStackDepth) return false;
  t_stack[t_depth++] = c;
  return true;
}

Context* pop_context() noexcept { return t_depth == 0 ? nullptr : t_stack[--t_depth]; }

}  // namespace vgpu::cuda
