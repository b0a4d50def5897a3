// The tenant's view of memory, processes and load (TENANT_STATUS): its memory limit as the
// device's size, its own usage, its own processes. vgpud answers from the tenant's shared
// state alone, so another tenant's processes and memory never appear, and no context is made.
//
// The limit (limits.device_memory) and the usage are the tenant's across all its GPUs, as
// cuMemGetInfo reports them in a guest: on a tenant with several GPUs each device shows the
// tenant's whole usage against min(limit, the device's size).
#include <cstring>

#include "guest/nvml/nvml_state.h"
#include "guest/nvml/process_list.h"

using namespace vgpu;

namespace {

struct MemoryView {
  unsigned long long total = 0, used = 0, free = 0;
};

nvmlReturn_t memory_view(nvmlDevice_t device, MemoryView* view) {
  const proto::DeviceGetInfoReply* info = nullptr;
  if (nvmlReturn_t r = nvml::facts_of(device, &info); r != NVML_SUCCESS) return r;
  guest::TenantStatus status;
  if (nvmlReturn_t r = nvml::tenant_status(&status); r != NVML_SUCCESS) return r;
  const uint64_t limit = status.summary.memory_limit;
  view->total = limit != 0 && limit < info->total_memory ? limit : info->total_memory;
  view->used = std::min<uint64_t>(status.summary.memory_used, view->total);
  view->free = view->total - view->used;
  return NVML_SUCCESS;
}

}  // namespace

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  if (memory == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  MemoryView v;
  if (nvmlReturn_t r = memory_view(device, &v); r != NVML_SUCCESS) return r;
  *memory = {v.total, v.free, v.used};
  return NVML_SUCCESS;
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t* memory) {
  if (memory == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (memory->version != nvmlMemory_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  MemoryView v;
  if (nvmlReturn_t r = memory_view(device, &v); r != NVML_SUCCESS) return r;
  // Nothing is reserved out of the tenant's limit: the driver's own reservations are the
  // host's, outside the guest's view.
  memory->total = v.total;
  memory->reserved = 0;
  memory->free = v.free;
  memory->used = v.used;
  return NVML_SUCCESS;
}

// BAR1 is the host's mapping window, which no guest maps through: report the tenant's memory
// there too, as large as what it may allocate, so that tools that compare the two agree.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetBAR1MemoryInfo(nvmlDevice_t device, nvmlBAR1Memory_t* bar1) {
  if (bar1 == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  MemoryView v;
  if (nvmlReturn_t r = memory_view(device, &v); r != NVML_SUCCESS) return r;
  *bar1 = {v.total, v.free, v.used};
  return NVML_SUCCESS;
}

// The tenant's own utilization of the GPU over the last second, as vgpud reads it off the host's
// NVML for the tenant's processes alone (executor_tenant_status.cpp); NOT_SUPPORTED, which
// nvidia-smi shows as N/A, where vgpud could not read it.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* utilization) {
  if (utilization == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  guest::TenantStatus status;
  if (nvmlReturn_t r = nvml::tenant_status(&status); r != NVML_SUCCESS) return r;
  const std::optional<uint32_t> gpu = guest::utilization_percent(status.summary.utilization_gpu[index]);
  const std::optional<uint32_t> memory = guest::utilization_percent(status.summary.utilization_memory[index]);
  if (!gpu || !memory) return NVML_ERROR_NOT_SUPPORTED;
  *utilization = {*gpu, *memory};
  return NVML_SUCCESS;
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int* n, nvmlProcessInfo_t* p) {
  return nvml::processes(d, n, p, false);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned int* n,
                                                                   nvmlProcessInfo_v2_t* p) {
  return nvml::processes(d, n, p, false);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned int* n,
                                                                nvmlProcessInfo_v1_t* p) {
  return nvml::processes(d, n, p, false);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int* n,
                                                                    nvmlProcessInfo_t* p) {
  return nvml::processes(d, n, p, true);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t d, unsigned int* n,
                                                                    nvmlProcessInfo_v2_t* p) {
  return nvml::processes(d, n, p, true);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t d, unsigned int* n,
                                                                 nvmlProcessInfo_v1_t* p) {
  return nvml::processes(d, n, p, true);
}

// The name a process of the tenant gave in HELLO: nvidia-smi asks it for each process it lists.
// Any other pid is not the tenant's to show (NOT_FOUND, as NVIDIA's library answers for a pid it
// does not know).
VGPU_NVML_API nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char* name, unsigned int length) {
  if (name == nullptr || length == 0) return NVML_ERROR_INVALID_ARGUMENT;
  return nvml::guarded([&] {
    guest::TenantStatus status;
    if (nvmlReturn_t r = nvml::tenant_status(&status); r != NVML_SUCCESS) return r;
    for (const proto::TenantProcessInfo& p : status.processes) {
      if (p.pid != pid) continue;
      const std::string text = guest::process_name(p);
      if (text.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
      std::memcpy(name, text.c_str(), text.size() + 1);
      return NVML_SUCCESS;
    }
    return NVML_ERROR_NOT_FOUND;
  });
}
