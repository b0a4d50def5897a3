// Links and placement. A guest's GPUs reach each other through vgpud on the host, never over
// an NVLink or fabric of the guest's own: every link query says "no link", which NCCL and the
// frameworks read as PCIe/host paths. Peer access itself works (cudaDeviceEnablePeerAccess);
// what is answered here is only what NVML reports of the hardware between them.
#include <sched.h>

#include <chrono>
#include <cstring>

#include "guest/nvml/nvml_state.h"

using namespace vgpu;

namespace {

nvmlReturn_t no_link(nvmlDevice_t device) {
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  return NVML_ERROR_NOT_SUPPORTED;  // what NVIDIA's library answers for a GPU without NVLink
}

}  // namespace

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int, nvmlEnableState_t*) {
  return no_link(device);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int, nvmlPciInfo_t*) {
  return no_link(device);
}
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo(nvmlDevice_t device, unsigned int, nvmlPciInfo_t*) {
  return no_link(device);
}

// Field values: NVLink's link count is 0 (the frameworks ask it to choose between NVLink and
// PCIe paths); every other field is refused in its own entry with NOT_SUPPORTED, as NVIDIA's
// library answers fields a GPU does not have, the call itself succeeding.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int count, nvmlFieldValue_t* values) {
  if (count < 0 || (count > 0 && values == nullptr)) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  const long long now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  for (int i = 0; i < count; ++i) {
    nvmlFieldValue_t& v = values[i];
    v.timestamp = now;
    v.latencyUsec = 0;
    v.value.ullVal = 0;
    if (v.fieldId == NVML_FI_DEV_NVLINK_LINK_COUNT) {
      v.valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
      v.nvmlReturn = NVML_SUCCESS;
    } else {
      v.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
    }
  }
  return NVML_SUCCESS;
}

// Not part of a fabric: state "not supported", as on a GPU outside an NVLink domain.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t device, nvmlGpuFabricInfo_t* info) {
  if (info == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  std::memset(info, 0, sizeof *info);
  info->status = NVML_SUCCESS;
  info->state = NVML_GPU_FABRIC_STATE_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t device, nvmlGpuFabricInfoV_t* info) {
  if (info == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  // Only the versions whose layout is known here; the caller's struct is as large as its version.
  size_t size = 0;
  if (info->version == nvmlGpuFabricInfo_v2) size = sizeof(nvmlGpuFabricInfo_v2_t);
  else if (info->version == nvmlGpuFabricInfo_v3) size = sizeof(nvmlGpuFabricInfo_v3_t);
  else return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  const unsigned int version = info->version;
  std::memset(info, 0, size);
  info->version = version;
  info->status = NVML_SUCCESS;
  info->state = NVML_GPU_FABRIC_STATE_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetP2PStatus(nvmlDevice_t device1, nvmlDevice_t device2,
                                                  nvmlGpuP2PCapsIndex_t, nvmlGpuP2PStatus_t* status) {
  if (status == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t a = 0, b = 0;
  if (nvmlReturn_t r = nvml::index_of(device1, &a); r != NVML_SUCCESS) return r;
  if (nvmlReturn_t r = nvml::index_of(device2, &b); r != NVML_SUCCESS) return r;
  *status = NVML_P2P_STATUS_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

VGPU_NVML_API nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t device1, nvmlDevice_t device2,
                                                               nvmlGpuTopologyLevel_t* path) {
  if (path == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t a = 0, b = 0;
  if (nvmlReturn_t r = nvml::index_of(device1, &a); r != NVML_SUCCESS) return r;
  if (nvmlReturn_t r = nvml::index_of(device2, &b); r != NVML_SUCCESS) return r;
  *path = a == b ? NVML_TOPOLOGY_INTERNAL : NVML_TOPOLOGY_SYSTEM;
  return NVML_SUCCESS;
}

// Every CPU the process may run on: the guest's GPUs are equally far from all of them.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetCpuAffinity(nvmlDevice_t device, unsigned int size, unsigned long* set) {
  if (set == nullptr || size == 0) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  std::memset(set, 0, size * sizeof(unsigned long));
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return NVML_ERROR_UNKNOWN;
  constexpr unsigned kBits = sizeof(unsigned long) * 8;
  for (unsigned cpu = 0; cpu < CPU_SETSIZE && cpu / kBits < size; ++cpu)
    if (CPU_ISSET(cpu, &cpus)) set[cpu / kBits] |= 1ul << (cpu % kBits);
  return NVML_SUCCESS;
}

// NUMA node 0: a guest's GPU memory is the host's, near none of the guest's nodes in particular.
VGPU_NVML_API nvmlReturn_t nvmlDeviceGetMemoryAffinity(nvmlDevice_t device, unsigned int size, unsigned long* set,
                                                       nvmlAffinityScope_t) {
  if (set == nullptr || size == 0) return NVML_ERROR_INVALID_ARGUMENT;
  uint32_t index = 0;
  if (nvmlReturn_t r = nvml::index_of(device, &index); r != NVML_SUCCESS) return r;
  std::memset(set, 0, size * sizeof(unsigned long));
  set[0] = 1;
  return NVML_SUCCESS;
}
