#include "guest/cuda/export_slots.h"

#include "guest/client/log.h"

namespace vgpu::cuda {
namespace {
std::atomic<uint64_t> g_unimplemented_calls{0};
}  // namespace

CUresult note_unimplemented(const char* table, int index, std::atomic<bool>* said, const uint64_t (&args)[4],
                            bool expected) noexcept {
  g_unimplemented_calls.fetch_add(1, std::memory_order_relaxed);
  if (!said->exchange(true)) {
    guest::log(expected ? guest::LogLevel::Debug : guest::LogLevel::Warn,
               "export table %s slot %d is not supported by vgpu (called with 0x%llx, 0x%llx, 0x%llx, 0x%llx)",
               table, index, static_cast<unsigned long long>(args[0]), static_cast<unsigned long long>(args[1]),
               static_cast<unsigned long long>(args[2]), static_cast<unsigned long long>(args[3]));
  }
  return CUDA_ERROR_NOT_SUPPORTED;
}

uint64_t unimplemented_export_slot_calls() noexcept { return g_unimplemented_calls.load(std::memory_order_relaxed); }

}  // namespace vgpu::cuda
