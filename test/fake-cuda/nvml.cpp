// fake-cuda (test double, never ships): the few NVML calls vgpud makes, answered from the fake
// driver's own accounting. The build puts a libnvidia-ml.so.1 link to this library beside
// libcuda.so.1, where vgpud looks for NVML, so both names reach the same process-wide state.
//
// A process's "used GPU memory" on a device is what its cuMemAlloc allocations and module
// globals hold there (real contexts cost about 0.5 GB more; the fake's cost nothing).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "internal.h"

using namespace vgpu::fake;

namespace {

// nvml.h's values and layouts.
constexpr int kNvmlSuccess = 0;
constexpr int kNvmlUninitialized = 1;
constexpr int kNvmlInvalidArgument = 2;
constexpr int kNvmlNotFound = 6;
constexpr int kNvmlInsufficientSize = 7;

struct UtilizationSample {  // nvmlProcessUtilizationSample_t
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
};

struct ProcessInfo {  // nvmlProcessInfo_t
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

// Device handles are the device index plus one (never null).
CUdevice device_of(void* handle) { return static_cast<CUdevice>(reinterpret_cast<std::uintptr_t>(handle)) - 1; }

bool has_context_on(CUdevice dev) {
  for (const auto& ctx : live_contexts())
    if (ctx->device == dev) return true;
  return false;
}

}  // namespace

FAKE_CUDA_API int nvmlInit_v2() { return kNvmlSuccess; }

FAKE_CUDA_API int nvmlShutdown() { return kNvmlSuccess; }

// Versions no real driver has, so that a test sees they came from here.
FAKE_CUDA_API int nvmlSystemGetDriverVersion(char* text, unsigned int length) {
  if (text == nullptr) return kNvmlInvalidArgument;
  return std::snprintf(text, length, "580.0.fake") < static_cast<int>(length) ? kNvmlSuccess : kNvmlInsufficientSize;
}

FAKE_CUDA_API int nvmlSystemGetNVMLVersion(char* text, unsigned int length) {
  if (text == nullptr) return kNvmlInvalidArgument;
  return std::snprintf(text, length, "13.580.0.fake") < static_cast<int>(length) ? kNvmlSuccess
                                                                                 : kNvmlInsufficientSize;
}

// The UUID string of device i: "GPU-" and the 16 bytes cuDeviceGetUuid_v2 reports, as
// 8-4-4-4-12 hex digits.
FAKE_CUDA_API int nvmlDeviceGetHandleByUUID(const char* uuid, void** device) {
  if (!initialized()) return kNvmlUninitialized;
  if (uuid == nullptr || device == nullptr) return kNvmlInvalidArgument;
  for (CUdevice dev = 0; dev < config().device_count; ++dev) {
    CUuuid id{};
    cuDeviceGetUuid_v2(&id, dev);
    const auto* b = reinterpret_cast<const unsigned char*>(id.bytes);
    char text[64];
    std::snprintf(text, sizeof text,
                  "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    if (std::strcmp(text, uuid) == 0) {
      *device = reinterpret_cast<void*>(static_cast<std::uintptr_t>(dev) + 1);
      return kNvmlSuccess;
    }
  }
  return kNvmlNotFound;
}

// Lists this process, if it has a context on the device.
FAKE_CUDA_API int nvmlDeviceGetComputeRunningProcesses_v3(void* device, unsigned int* count, ProcessInfo* infos) {
  if (!initialized()) return kNvmlUninitialized;
  const CUdevice dev = device_of(device);
  if (count == nullptr || dev < 0 || dev >= config().device_count) return kNvmlInvalidArgument;
  const unsigned int present = has_context_on(dev) ? 1 : 0;
  if (*count < present) {
    *count = present;
    return kNvmlInsufficientSize;
  }
  *count = present;
  if (present == 1) {
    if (infos == nullptr) return kNvmlInvalidArgument;
    infos[0] = ProcessInfo{static_cast<unsigned int>(::getpid()), device_used(dev), 0, 0};
  }
  return kNvmlSuccess;
}

// Per-process utilization: this process, while it has a context on the device, keeps it 37 %
// busy (11 % for memory); and pid 1 stands for another tenant's process, which keeps the GPU
// fully busy. vgpud must report the first to its tenant and never count the second.
FAKE_CUDA_API int nvmlDeviceGetProcessUtilization(void* device, UtilizationSample* samples, unsigned int* count,
                                                  unsigned long long) {
  if (!initialized()) return kNvmlUninitialized;
  if (device == nullptr || count == nullptr) return kNvmlInvalidArgument;
  const CUdevice dev = device_of(device);
  if (dev < 0 || dev >= config().device_count) return kNvmlInvalidArgument;
  const unsigned long long now = static_cast<unsigned long long>(time(nullptr)) * 1000000ull;
  UtilizationSample all[2];
  unsigned int n = 0;
  all[n++] = {1, now, 100, 100, 0, 0};
  if (has_context_on(dev)) all[n++] = {static_cast<unsigned int>(getpid()), now, 37, 11, 0, 0};
  if (samples == nullptr || *count < n) {
    *count = n;
    return kNvmlInsufficientSize;
  }
  for (unsigned int i = 0; i < n; ++i) samples[i] = all[i];
  *count = n;
  return kNvmlSuccess;
}
