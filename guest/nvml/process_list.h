// The tenant's processes on one device, in the entries of whichever NVML call asked: the public
// nvmlDevice*RunningProcesses (memory_api.cpp) and nvidia-smi's private list (export_table.cpp).
#pragma once
#include <bit>
#include <cstring>
#include <vector>

#include "guest/nvml/nvml_state.h"

namespace vgpu::nvml {

// Fills the caller's entries (NVML's contract: INSUFFICIENT_SIZE with the count needed when
// they do not fit; a null array with count 0 asks for the count). `graphics`: the list of
// processes that draw, which in a guest is empty. An entry type with MIG instance ids gets
// "none"; one with a name gets the name the process gave in HELLO.
template <typename Info>
nvmlReturn_t processes(nvmlDevice_t device, unsigned int* count, Info* infos, bool graphics) {
  if (count == nullptr || (*count > 0 && infos == nullptr)) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = index_of(device, &index); r != NVML_SUCCESS) return r;
  return guarded([&] {
    if (graphics) {
      *count = 0;
      return NVML_SUCCESS;
    }
    guest::TenantStatus status;
    if (nvmlReturn_t r = tenant_status(&status); r != NVML_SUCCESS) return r;
    std::vector<Info> found;
    for (const proto::TenantProcessInfo& p : status.processes) {
      if (index >= 32 || (p.context_mask & (1u << index)) == 0) continue;
      Info info{};
      info.pid = p.pid;
      // vgpud counts a process's memory across its devices: exact for a process on one device,
      // unknown for one that spreads over several.
      info.usedGpuMemory = std::popcount(p.context_mask) == 1 ? p.memory_used
                                                              : static_cast<unsigned long long>(NVML_VALUE_NOT_AVAILABLE);
      if constexpr (requires { info.gpuInstanceId; }) {
        info.gpuInstanceId = 0xFFFFFFFFu;  // no MIG
        info.computeInstanceId = 0xFFFFFFFFu;
      }
      if constexpr (requires { info.name; }) {
        static_assert(sizeof info.name > sizeof p.name);
        std::memcpy(info.name, p.name, strnlen(p.name, sizeof p.name));
      }
      found.push_back(info);
    }
    const unsigned int room = *count;
    *count = static_cast<unsigned int>(found.size());
    if (found.size() > room) return NVML_ERROR_INSUFFICIENT_SIZE;
    if (!found.empty()) std::memcpy(static_cast<void*>(infos), found.data(), found.size() * sizeof(Info));
    return NVML_SUCCESS;
  });
}

}  // namespace vgpu::nvml
