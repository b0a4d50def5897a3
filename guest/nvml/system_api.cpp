// Session and system entry points: init and shutdown, error texts, versions.
#include <cstdio>
#include <cstring>
#include <string>

#include "guest/nvml/nvml_state.h"

using namespace vgpu;

VGPU_NVML_API nvmlReturn_t nvmlInit_v2(void) { return nvml::init(); }
VGPU_NVML_API nvmlReturn_t nvmlInit(void) { return nvml::init(); }
// The flags (no attach, no GPUs) change nothing here: init never touches a GPU.
VGPU_NVML_API nvmlReturn_t nvmlInitWithFlags(unsigned int) { return nvml::init(); }
VGPU_NVML_API nvmlReturn_t nvmlShutdown(void) { return nvml::shutdown(); }

VGPU_NVML_API const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED: return "ECC is enabled";
    case NVML_ERROR_INSUFFICIENT_RESOURCES: return "Insufficient resources";
    case NVML_ERROR_FREQ_NOT_SUPPORTED: return "Frequency not supported";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    case NVML_ERROR_DEPRECATED: return "Deprecated";
    case NVML_ERROR_NOT_READY: return "Not ready";
    case NVML_ERROR_GPU_NOT_FOUND: return "GPU not found";
    case NVML_ERROR_INVALID_STATE: return "Invalid state";
    case NVML_ERROR_RESET_TYPE_NOT_SUPPORTED: return "Reset type not supported";
    case NVML_ERROR_UNKNOWN: return "Unknown Error";
  }
  return "Unknown Error";
}

namespace {

// HELLO's CUDA driver version (13000 for 13.0).
nvmlReturn_t cuda_version(int* version) {
  if (version == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t r = nvml::require_init(); r != NVML_SUCCESS) return r;
  *version = nvml::channel().hello().driver_version;
  return NVML_SUCCESS;
}

// The host's driver release or NVML version (TENANT_STATUS), which NVIDIA's tools compare with
// their own; the CUDA version's text ("13.0") when vgpud could not read them.
using VersionText = char (proto::TenantStatusReply::*)[32];

nvmlReturn_t host_version_text(VersionText field, char* out, unsigned int length) {
  if (out == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  int v = 0;
  if (nvmlReturn_t r = cuda_version(&v); r != NVML_SUCCESS) return r;
  return nvml::guarded([&] {
    guest::TenantStatus status;
    if (nvml::tenant_status(&status) == NVML_SUCCESS) {
      const auto& text = status.summary.*field;
      if (text[0] != '\0') return nvml::copy_string(std::string(text, strnlen(text, sizeof text)).c_str(), out, length);
    }
    char fallback[32];
    std::snprintf(fallback, sizeof fallback, "%d.%d", v / 1000, (v % 1000) / 10);
    return nvml::copy_string(fallback, out, length);
  });
}

}  // namespace

VGPU_NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int* v) { return cuda_version(v); }
VGPU_NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int* v) { return cuda_version(v); }
VGPU_NVML_API nvmlReturn_t nvmlSystemGetDriverVersion(char* out, unsigned int length) {
  return host_version_text(&proto::TenantStatusReply::driver_release, out, length);
}
VGPU_NVML_API nvmlReturn_t nvmlSystemGetNVMLVersion(char* out, unsigned int length) {
  return host_version_text(&proto::TenantStatusReply::nvml_version, out, length);
}
